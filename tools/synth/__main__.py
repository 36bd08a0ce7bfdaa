import sys

from tools.synth.generate import main

sys.exit(main())
