"""What every reconciler shares: the Runtime handle and operator settings, conditions and the
issue -> status path, the keyed work queue, and the polling loop of the launch-type controllers.
"""
