"""Copy the response examples of the official OpenAPI specs into fixtures/upstream/ (provenance kept).

python scripts/extract_fixtures.py [path/to/specs]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SPECS = ("twilio_api_v2010.outgoing_caller_ids.json", "twilio_trunking_v1.phone_numbers.json")


def main() -> None:
    reference = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "gateway" / "sandbox" / "specs"
    out = ROOT / "fixtures" / "upstream"
    out.mkdir(parents=True, exist_ok=True)
    for name in SPECS:
        spec = json.loads((reference / name).read_text())
        for path, item in spec["paths"].items():
            for method, operation in item.items():
                if not isinstance(operation, dict) or "operationId" not in operation:
                    continue
                for status, response in operation["responses"].items():
                    content = response.get("content", {}).get("application/json", {})
                    for example, body in content.get("examples", {}).items():
                        target = out / f"{operation['operationId']}.{example}.json"
                        payload = {"source": f"{name} {method.upper()} {path} {status} {example}"}
                        payload["status"] = int(status)
                        payload["body"] = body["value"]
                        target.write_text(json.dumps(payload, indent=2) + "\n")
                        print(target.relative_to(ROOT))


if __name__ == "__main__":
    main()
