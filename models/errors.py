"""Names of the errors a workflow gives when it refuses an action.

Interfaces map them: PERMISSION_DENIED and SIGNATURE_REFUSED -> 403, WRONG_STAGE -> 409,
INVALID -> 422.
"""

PERMISSION_DENIED = "PermissionDenied"
WRONG_STAGE = "WrongStage"
INVALID = "InvalidAction"
SIGNATURE_REFUSED = "SignatureRefused"  # the actor is not vouched for by an interface: 403
