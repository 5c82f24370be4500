"""Strings of the releases pages."""

from __future__ import annotations

MESSAGES: dict[str, tuple[str, str]] = {
    # The list
    "releases.title": ("Releases", "الإصدارات"),
    "releases.heading": ("Releases to partners", "الإصدارات إلى الشركاء"),
    "releases.intro": (
        "What each partner receives of the reports submitted here, and the sharing policy's "
        "decision. Held releases wait for a second officer with the releaser role.",
        "ما يتلقّاه كل شريك من التقارير المقدَّمة هنا، وقرار سياسة المشاركة بشأنه. تنتظر "
        "الإصدارات المعلّقة موافقة ضابط ثانٍ مخوَّل بالإصدار.",
    ),
    "releases.metadata_only": (
        "Your role sees the decisions and their metadata, not the reports' titles or content.",
        "يطّلع دورك على القرارات وبياناتها الوصفية، لا على عناوين التقارير ولا على محتواها.",
    ),
    "releases.state_any": ("any state", "أي حالة"),
    "releases.partner_any": ("every partner", "جميع الشركاء"),
    "releases.show_all": ("Show every release", "عرض جميع الإصدارات"),
    "releases.tlp": ("TLP", "مستوى TLP"),
    "releases.decision": ("Decision", "القرار"),
    "releases.submitted_by": ("Submitted by", "قدَّمه"),
    "releases.seq": ("number {seq}", "الرقم {seq}"),
    "releases.reviewed_by": ("reviewed by {user}", "راجعه {user}"),
    "releases.title_hidden": ("(title not shown to your role)", "(العنوان لا يُعرض لدورك)"),
    "releases.none_held": (
        "No release is waiting for a releaser.",
        "لا يوجد إصدار بانتظار المخوَّل بالإصدار.",
    ),
    "releases.pages": ("Pages of releases", "صفحات الإصدارات"),
    # One release
    "releases.one.title": ("Release", "الإصدار"),
    "releases.one.heading": ("Release to {partner}", "الإصدار إلى {partner}"),
    "releases.back": ("Back to the releases", "العودة إلى الإصدارات"),
    "releases.report": ("Report", "التقرير"),
    "releases.message": ("Message id", "معرّف الرسالة"),
    "releases.sequence": ("Sequence number", "الرقم التسلسلي"),
    "releases.no_seq": (
        "none yet (a number is given on approval)",
        "لا يوجد بعد (يُمنح الرقم عند الموافقة)",
    ),
    "releases.once_approved": ("once approved: {outcome}", "بعد الموافقة: {outcome}"),
    "releases.rule": ("Rule", "القاعدة"),
    "releases.reason": ("Reason", "السبب"),
    "releases.policy_version": ("Policy version", "إصدار السياسة"),
    "releases.reviewed": ("Reviewed by", "راجعه"),
    "releases.done.approved": (
        "Approved. The release is queued for the partner with what the policy loaded now allows.",
        "تمت الموافقة. أُدرج الإصدار في قائمة الإرسال إلى الشريك بما تسمح به السياسة المحمَّلة الآن.",
    ),
    "releases.done.refused": (
        "Refused. The release is withheld for good and will not be sent.",
        "تم الرفض. حُجب الإصدار نهائياً ولن يُرسَل.",
    ),
    # Approve or refuse
    "releases.review.heading": ("Approve or refuse", "الموافقة أو الرفض"),
    "releases.review.intro": (
        "Read what the partner would receive below. Approving decides again with the policy "
        "loaded now; refusing withholds the release for good. The note goes to the audit log.",
        "اطّلع أدناه على ما سيتلقّاه الشريك. تُعيد الموافقة اتخاذ القرار وفق السياسة المحمَّلة "
        "الآن، ويحجب الرفض الإصدار نهائياً. تُسجَّل الملاحظة في سجل التدقيق.",
    ),
    "releases.review.note": ("Note (why, for the audit log)", "ملاحظة (السبب، لسجل التدقيق)"),
    "releases.review.approve": ("Approve the release", "الموافقة على الإصدار"),
    "releases.review.refuse": ("Refuse the release", "رفض الإصدار"),
    "releases.review.own": (
        "You submitted this report: the two-person rule needs another releaser to approve or "
        "refuse it.",
        "أنت من قدّم هذا التقرير: تقتضي قاعدة الشخصين أن يوافق عليه مخوَّل بالإصدار آخر أو يرفضه.",
    ),
    "releases.review.not_releaser": (
        "Only an officer with the releaser role can approve or refuse a held release.",
        "لا يستطيع الموافقة على إصدار معلّق أو رفضه إلا ضابط مخوَّل بالإصدار.",
    ),
    # The decision's trace
    "releases.steps.heading": ("Every rule's verdict", "حكم كل قاعدة"),
    "releases.steps.verdict": ("Verdict", "الحكم"),
    "releases.steps.detail": ("Detail", "التفاصيل"),
    "releases.verdict.pass": ("pass", "مقبول"),
    "releases.verdict.redact": ("redact", "تنقيح"),
    "releases.verdict.deny": ("deny", "منع"),
    "releases.verdict.hold": ("hold", "تعليق"),
    "releases.verdict.skip": ("not configured", "غير مُعدّة"),
    # What the partner receives
    "releases.changes.heading": (
        "From the submitted report to what the partner receives",
        "من التقرير المقدَّم إلى ما يتلقّاه الشريك",
    ),
    "releases.changes.counts": (
        "{submitted} objects submitted, {released} released.",
        "الكائنات المقدَّمة: {submitted}، والمُصدَرة: {released}.",
    ),
    "releases.changes.nothing_released": (
        "Nothing of this report is released to the partner.",
        "لا يُصدَر أي شيء من هذا التقرير إلى الشريك.",
    ),
    "releases.changes.object": ("Object", "الكائن"),
    "releases.changes.what": ("What the partner receives", "ما يتلقّاه الشريك"),
    "releases.changes.removed": ("removed: not sent", "محذوف: لا يُرسَل"),
    "releases.changes.redacted": (
        "sent, with these parts removed:",
        "يُرسَل بعد حذف هذه الأجزاء منه:",
    ),
    "releases.changes.property": ("property", "الخاصية"),
    "releases.changes.ref": ("reference", "المرجع"),
    "releases.changes.changed": ("sent, changed", "يُرسَل معدَّلاً"),
    "releases.changes.unchanged": ("sent as submitted", "يُرسَل كما قُدِّم"),
    "releases.diff.heading": (
        "Line-by-line difference (JSON)",
        "الفرق سطراً بسطر (JSON)",
    ),
    "releases.diff.same": (
        "The partner receives the bundle exactly as submitted.",
        "يتلقّى الشريك الحزمة كما قُدِّمت تماماً.",
    ),
    "releases.released.heading": (
        "The bundle {partner} would receive",
        "الحزمة التي سيتلقّاها {partner}",
    ),
    # Refusals of the service, by code (for service.console.errors.MESSAGES)
    "releases.error.two_person": (
        "The two-person rule refuses this: a held release is approved or refused by an officer "
        "with the releaser role who did not submit the report.",
        "ترفض قاعدة الشخصين ذلك: يوافق على الإصدار المعلّق أو يرفضه ضابط مخوَّل بالإصدار لم "
        "يقدّم التقرير بنفسه.",
    ),
    "releases.error.not_held": (
        "This release is not held for approval: it may have been approved or refused already.",
        "هذا الإصدار ليس معلّقاً بانتظار الموافقة: ربما تمت الموافقة عليه أو رفضه من قبل.",
    ),
}
