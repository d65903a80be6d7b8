"""Print the README's configuration table from gateway.settings.SPECS (the single source).

python scripts/settings_table.py
"""

from __future__ import annotations

import sys
from pathlib import Path

# This checkout's gateway, not an installed copy.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gateway.settings import SPECS


def main() -> None:
    print("| Variable | Flag | Default | Meaning |")
    print("|---|---|---|---|")
    for spec in SPECS:
        default = f"`{spec.default}`" if spec.default else "unset"
        print(f"| `{spec.env}` | `{spec.flag}` | {default} | {spec.help} |")


if __name__ == "__main__":
    main()
