"""Pages for people: the shell (layout, menu, session, CSRF), formatting filters and the table."""
