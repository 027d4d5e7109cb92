"""Service Auto Scaling: the ScalableTarget/ScalingPolicy/ScheduledAction reconciler and the
external metrics API server."""
