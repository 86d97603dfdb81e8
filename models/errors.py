"""Names of the errors a workflow gives when it refuses an action.

Interfaces map them: PERMISSION_DENIED, SIGNATURE_REFUSED and RESTRICTED -> 403, WRONG_STAGE
-> 409, INVALID -> 422.
"""

PERMISSION_DENIED = "PermissionDenied"
WRONG_STAGE = "WrongStage"
INVALID = "InvalidAction"
SIGNATURE_REFUSED = "SignatureRefused"  # the actor is not vouched for by an interface: 403
RESTRICTED = "Restricted"  # a restricted record, and the actor is neither named on it nor a manager: 403
