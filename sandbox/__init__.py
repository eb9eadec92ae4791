"""Pantry's AWS sandbox: moto server + SageMaker Feature Store / lineage / STS extensions.

Demo and end-to-end tests only; Pantry's application code never imports this package.
"""

DEFAULT_REGION = "eu-west-1"
PLATFORM_ACCOUNT_ID = "123456789012"  # moto's default account: the "Pantry platform" caller
