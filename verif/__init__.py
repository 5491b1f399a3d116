"""attnforge verification: cocotb testbenches, stream agents, runners, golden vectors."""
