"""Entry point of the SparkApplication (`mainApplicationFile: local:///opt/tweet-sentiment/main.py`).

spark-submit runs this file as the driver; all the logic is in the installed package.
"""

import sys

from sentiment_job.job import main

if __name__ == "__main__":
    sys.exit(main())
