"""Named jobs: scheduled and on-demand computations, one run at a time, each run recorded."""
