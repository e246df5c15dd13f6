"""Generator of microTVM-shaped fixture projects for crewrite's tests.

See tools/gen_fixtures.py."""
