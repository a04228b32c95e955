"""KPI contracts of second-level companies (业绩合同): ratios, benchmarks and scoring."""
