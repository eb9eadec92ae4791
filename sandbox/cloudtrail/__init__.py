"""CloudTrail for the sandbox: trails, log files in S3, a seeded history and a live feed.

What a CloudTrail *service* would do for the sandbox's organisation, in the documented file
format (see ``docs/sandbox.md`` § CloudTrail for the contract and the differences from AWS):

* :mod:`.records`   -- principals (``userIdentity``) and event records, API by API.
* :mod:`.selectors` -- advanced event selectors, evaluated the way a trail applies them.
* :mod:`.delivery`  -- which trail receives which record, log file keys, gzip, digest files,
  writing into the S3 bucket of the trail.
* :mod:`.history`   -- the seeded 60-day history of the demo organisation (from its manifest).
* :mod:`.live`      -- the live generator (consumers reading what they may read) and the
  recorder that turns real calls made to the sandbox into events.
* :mod:`.badfiles`  -- corrupt and awkward log files for ingestion tests.
* :mod:`.synth`     -- the fast synthetic writer for the ingestion benchmark (client side).
* :mod:`.trails`    -- creating the organisation trail and an account trail through boto3.
* :mod:`.service`   -- the in-process state the control plane drives (``/_sandbox/cloudtrail``).
"""
