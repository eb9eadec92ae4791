"""The catalog's AWS gateways, one module per service family, on `portal.aws`.

- `featurestore`: SageMaker Feature Store (Search, DescribeFeatureGroup,
  ListTags, UpdateFeatureMetadata).
- `lineage`: SageMaker ML lineage (ListContexts, QueryLineage,
  ListAssociations, DescribeArtifact/Context).

These and `portal.aws` are the only catalog modules that talk to boto3;
everything they return is a frozen dataclass and every error an `AwsError`.
"""
