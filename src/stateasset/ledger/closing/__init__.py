"""The period close (结账), one module per concern; import the module you need, nothing is re-exported.

- `periods`: each entity's period state (open → submitted → validated → locked), the write
  check every other module makes, the transitions, the reopen cascade and the board.
- `statements`: statement versions (财务快报), their 审核公式 findings, the latest versions.
- `intercompany`: intercompany lines (内部往来) and the pairs that do not match.
- `uploads`: the XLSX/CSV import (导入) and the template.

Every write checks the entity's period under a row lock (`periods.ensure_writable`): a locked
period takes none.
"""
