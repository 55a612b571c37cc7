from __future__ import annotations

from devagent.cli import main

raise SystemExit(main())
