import sys

from pipeline.synth.generate import main

sys.exit(main())
