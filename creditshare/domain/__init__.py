"""The rules: settlement and credit-list files, the lifecycle plan, evidence and sealing."""
