"""Publishing: releasing due deliveries on time, and publishing each exactly once (issue 5)."""
