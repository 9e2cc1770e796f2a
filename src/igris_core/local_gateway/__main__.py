"""``python -m igris_core.local_gateway``: see :mod:`igris_core.local_gateway._cli`."""

from igris_core.local_gateway._cli import main

raise SystemExit(main())
