"""TaskDefinition reconciler: revisions frozen in immutable ConfigMaps."""
