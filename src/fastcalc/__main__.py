from fastcalc.cli import main

raise SystemExit(main())
