pytest_plugins = ["tests.harness.synapse"]
