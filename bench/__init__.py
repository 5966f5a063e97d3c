"""Speed and load measurements (not tests): each prints a table with ratios or targets."""
