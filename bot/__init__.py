"""alignbot: the Slack bot."""

import os

# The scoring's matrices are small (people × statement-weeks, `bot.domain.tallies`): one thread
# multiplies them in milliseconds, while BLAS's own threads would contend with the server's and,
# on a busy machine, take a hundred times longer. Read by numpy's BLAS when numpy is first imported.
for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")
