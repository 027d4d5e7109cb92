"""The operator's side of ECR: can a task's images be pulled from the local registry?"""
