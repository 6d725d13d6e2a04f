"""A person's links between their own accounts on several apps, and the businesses where they
chose to be one customer (docs/business.md section 3.1)."""
