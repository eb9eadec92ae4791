"""The audit log is append-only, and the database enforces it.

A BEFORE UPDATE OR DELETE row trigger raises, so no code path (a bug, the
admin, a shell session) can rewrite or erase history; only INSERT works.
TRUNCATE is left to the table's owner: it is what a test run's flush uses,
and a role allowed to TRUNCATE could drop the trigger anyway. (The same
design as sharing's AuditRecord.)
"""

from django.db import migrations

FORWARD = """
CREATE FUNCTION portal_auditevent_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only: % on portal_auditevent is refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER portal_auditevent_append_only
    BEFORE UPDATE OR DELETE ON portal_auditevent
    FOR EACH ROW EXECUTE FUNCTION portal_auditevent_refuse_change();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS portal_auditevent_append_only ON portal_auditevent;
DROP FUNCTION IF EXISTS portal_auditevent_refuse_change();
"""


class Migration(migrations.Migration):
    dependencies = [("portal", "0001_initial")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
