"""The benchmark harness behind `scripts/bench`: workloads, the gateway and Zebra servers, the report."""
