"""Support's search box: a partial address, a name or a subject finds its contacts and sends.

Each kind of term goes to an index (docs: the migrations named below), so a search stays a few
index probes on tables of millions of rows, and the change list's count stays bounded
(BoundedCountPaginator):
- a whole id, a whole address, an SES message id: the B-tree indexes, exact;
- part of an address or a subject: `UPPER(col) LIKE '%term%'`, answered on PostgreSQL by the
  trigram indexes contact_email_trgm_idx (contacts 0002), send_email_trgm_idx and
  send_subject_trgm_idx (sends 0006);
- a name: the contact properties firstName, lastName and name read as one string (NAME_SQL),
  answered by contact_name_trgm_idx (contacts 0006); its sends through send_org_contact_idx.
"""

from django.db.models import Q, QuerySet
from django.db.models.expressions import RawSQL

from contacts.models import Contact

# The expression contact_name_trgm_idx is built on, written once: the index is used only for
# this exact expression. (`->>` is PostgreSQL's and SQLite's since 3.38.)
NAME_SQL = (
    "UPPER(COALESCE(properties ->> 'firstName', '') || ' ' || COALESCE(properties ->> 'lastName', '') || ' ' "
    "|| COALESCE(properties ->> 'name', ''))"
)
# How many contacts a name may match before the send search stops adding more of their sends.
NAME_MATCHES = 50


def contacts_matching(queryset: QuerySet[Contact], term: str) -> QuerySet[Contact]:
    """Contacts whose address contains the term, or whose name does (any case)."""
    named = queryset.annotate(name_key=RawSQL(NAME_SQL, []))  # noqa: S611 - a constant, no input
    return named.filter(Q(email__icontains=term) | Q(name_key__contains=term.upper()))


def sends_matching(queryset: QuerySet, term: str) -> QuerySet:
    """Sends whose address or subject contains the term, or whose contact's name does."""
    people = contacts_matching(Contact.objects.all(), term).values_list("organisation_id", "id")[:NAME_MATCHES]
    by_contact = Q()
    for organisation_id, contact_id in people:
        by_contact |= Q(organisation_id=organisation_id, contact_id=contact_id)
    return queryset.filter(Q(email__icontains=term) | Q(subject__icontains=term) | by_contact)
