"""The mother fund (产业引导基金), its sub-funds, capital activity, performance and checks."""
