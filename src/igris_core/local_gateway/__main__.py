"""``python -m igris_core.local_gateway``: see :mod:`igris_core.local_gateway.cli`."""

from igris_core.local_gateway.cli import main

raise SystemExit(main())
