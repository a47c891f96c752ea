"""Developer tool: regenerate the initial migration from the models (before the first release only).

    .venv/bin/python -m storage.regen_migration

Until lianxin has been deployed anywhere, the schema lives in one revision, 0001_initial, rebuilt from
storage/models.py. After the first release, add new revisions with
``alembic -c <cfg> revision --autogenerate`` instead, and never edit a released revision.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

from alembic import command

from storage.migrate import MIGRATIONS, alembic_config


def main() -> None:
    versions = MIGRATIONS / "versions"
    for old in versions.glob("0001_*.py"):
        old.unlink()
    with tempfile.TemporaryDirectory() as tmp:
        cfg = alembic_config(f"sqlite:///{Path(tmp) / 'empty.db'}")
        command.revision(
            cfg, message="initial schema", autogenerate=True, rev_id="0001", version_path=str(versions)
        )
    made = next(versions.glob("0001_*.py"))
    text = made.read_text(encoding="utf-8")
    # Alembic renders JSONB's astext_type without the sa. prefix; make the file importable.
    text = text.replace("astext_type=Text()", "astext_type=sa.Text()")
    text = re.sub(r"Create Date: .*", "Create Date: (regenerated from storage/models.py)", text)
    made.unlink()
    (versions / "0001_initial.py").write_text(text, encoding="utf-8")
    print(f"wrote {versions / '0001_initial.py'}")


if __name__ == "__main__":
    main()
