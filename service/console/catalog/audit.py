"""Strings of the audit pages."""

from __future__ import annotations

MESSAGES: dict[str, tuple[str, str]] = {
    # The log
    "audit.log.title": ("Audit log", "سجل التدقيق"),
    "audit.log.heading": ("The audit log", "سجل التدقيق"),
    "audit.log.intro": (
        "Every action on this node, in log order: who, what, on which object, and the outcome. "
        "Report content is never in the log. Reading it is itself recorded.",
        "كل إجراء على هذه العقدة بترتيب السجل: من قام به، وما هو، وعلى أي كائن، ونتيجته. لا "
        "يتضمن السجل محتوى التقارير أبداً، وقراءته تُسجَّل هي أيضاً.",
    ),
    "audit.log.none": ("No record matches.", "لا يوجد سجل مطابق."),
    "audit.log.pages": ("Pages of the log", "صفحات السجل"),
    "audit.filter.action_help": (
        "Exact, or a prefix ending in * (release.*).",
        "مطابقة تامة، أو بادئة تنتهي بـ * (مثل release.*).",
    ),
    "audit.filter.any_outcome": ("any outcome", "أي نتيجة"),
    "audit.filter.since": ("From (at or after)", "من (في هذا الوقت أو بعده)"),
    "audit.filter.until": ("Until (before)", "حتى (قبل هذا الوقت)"),
    "audit.filter.utc": ("Times are in UTC.", "الأوقات بالتوقيت العالمي المنسَّق (UTC)."),
    "audit.filter.bad_time": (
        "Not a time: write it as 2025-01-31T08:00.",
        "ليس وقتاً صالحاً: اكتبه بالصيغة 2025-01-31T08:00.",
    ),
    "audit.filter.fix": (
        "Correct the filter above to see the records.",
        "صحّح عامل التصفية أعلاه لعرض السجلات.",
    ),
    # Fields of a record
    "audit.field.seq": ("No.", "الرقم"),
    "audit.field.actor": ("Actor", "الفاعل"),
    "audit.field.action": ("Action", "الإجراء"),
    "audit.field.object": ("Object", "الكائن"),
    "audit.field.object_id": ("Object id", "معرّف الكائن"),
    "audit.field.outcome": ("Outcome", "النتيجة"),
    "audit.field.reason": ("Reason", "السبب"),
    "audit.field.remote_addr": ("From address", "من العنوان"),
    "audit.field.policy_version": ("Policy version", "إصدار السياسة"),
    "audit.field.leaf_hash": ("Leaf hash", "تجزئة الورقة"),
    "audit.outcome.allowed": ("allowed", "مسموح"),
    "audit.outcome.denied": ("denied", "مرفوض"),
    "audit.outcome.error": ("error", "خطأ"),
    # One record and its proof
    "audit.record.title": ("Record {seq}", "السجل {seq}"),
    "audit.record.heading": ("Audit record {seq}", "سجل التدقيق رقم {seq}"),
    "audit.record.back": ("Back to the log", "العودة إلى السجل"),
    "audit.proof.heading": ("Inclusion proof", "إثبات التضمين"),
    "audit.proof.intro": (
        "Record {seq} is in the log of {size} records that the latest checkpoint signs: the "
        "hashes below lead from the record's leaf to the signed root (RFC 9162).",
        "السجل {seq} مُدرَج في السجل المؤلَّف من {size} سجلاً الذي توقّعه آخر نقطة تحقق: "
        "تقود التجزئات أدناه من ورقة السجل إلى الجذر الموقَّع (RFC 9162).",
    ),
    "audit.proof.index": ("Leaf index", "فهرس الورقة"),
    "audit.proof.fingerprint": ("Node fingerprint", "بصمة العقدة"),
    "audit.proof.hashes": ("Proof hashes ({count})", "تجزئات الإثبات ({count})"),
    "audit.proof.no_hashes": (
        "None: the record is the only leaf of the tree.",
        "لا يوجد: السجل هو الورقة الوحيدة في الشجرة.",
    ),
    "audit.proof.download": ("Download the proof file", "تنزيل ملف الإثبات"),
    "audit.proof.check_offline": (
        "Check it offline, with nothing but the file:",
        "تحقّق منه دون اتصال، بالملف وحده:",
    ),
    "audit.proof.placeholder": ("<{node}'s fingerprint>", "<بصمة {node}>"),
    "audit.proof.compare_fingerprint": (
        "Give the fingerprint you received from this node out of band, not the one on this "
        "page: anyone can make a proof that verifies under keys of their own.",
        "أدخِل البصمة التي تسلّمتها من هذه العقدة عبر قناة مستقلة، لا البصمة المعروضة في هذه "
        "الصفحة: إذ يستطيع أي أحد صنع إثبات يُتحقَّق منه بمفاتيحه الخاصة.",
    ),
    "audit.proof.not_covered": (
        "No signed checkpoint covers this record yet, so there is no proof of it yet. The node "
        "signs a checkpoint every {seconds} seconds when the log has grown.",
        "لا توجد بعد نقطة تحقق موقَّعة تشمل هذا السجل، ولذا لا يوجد إثبات له بعد. توقّع العقدة "
        "نقطة تحقق كل {seconds} ثانية متى ازداد السجل.",
    ),
    # Checkpoints
    "audit.checkpoints.title": ("Checkpoints", "نقاط التحقق"),
    "audit.checkpoints.heading": ("Signed checkpoints", "نقاط التحقق الموقَّعة"),
    "audit.checkpoints.intro": (
        "Each checkpoint is this node's signature on the size and root of its log; partners "
        "that witness the log add their cosignatures after checking it only grew.",
        "كل نقطة تحقق هي توقيع هذه العقدة على حجم سجلها وجذره؛ ويضيف الشركاء الذين يشهدون على "
        "السجل توقيعاتهم المشتركة بعد التحقق من أنه لم يتغيّر إلا بإضافة سجلات جديدة.",
    ),
    "audit.checkpoints.latest": ("The latest checkpoint", "آخر نقطة تحقق"),
    "audit.checkpoints.jump_latest": ("Go to the latest", "الانتقال إلى الأحدث"),
    "audit.checkpoints.none": ("No checkpoint is signed yet.", "لم تُوقَّع أي نقطة تحقق بعد."),
    "audit.checkpoints.one": ("Checkpoint of size {size}", "نقطة التحقق ذات الحجم {size}"),
    "audit.checkpoints.pages": ("Pages of checkpoints", "صفحات نقاط التحقق"),
    "audit.checkpoint.size": ("Size (records)", "الحجم (عدد السجلات)"),
    "audit.checkpoint.root": ("Root hash", "تجزئة الجذر"),
    "audit.checkpoint.signed_at": ("Signed at", "وقت التوقيع"),
    "audit.checkpoint.cosigned_by": ("Cosigned by", "وقّعه أيضاً"),
    "audit.checkpoint.no_cosignature": (
        "no partner's cosignature yet",
        "لا يوجد توقيع مشترك من أي شريك بعد",
    ),
    "audit.checkpoint.witness": ("Witness", "الشاهد"),
    "audit.checkpoint.cosignature": ("Cosignature", "التوقيع المشترك"),
    "audit.checkpoint.note": (
        "The signed note, with its cosignatures",
        "الملاحظة الموقَّعة مع توقيعاتها المشتركة",
    ),
    # Verification
    "audit.verify.title": ("Verify the log", "التحقق من السجل"),
    "audit.verify.heading": ("Verify the whole log", "التحقق من السجل بكامله"),
    "audit.verify.intro": (
        "The node reads every record of its log in one snapshot and checks:",
        "تقرأ العقدة كل سجلات سجلها في لقطة واحدة وتتحقق مما يلي:",
    ),
    "audit.verify.step.records": (
        "the records are numbered 0, 1, 2… without a gap, a repeat or a record outside the log;",
        "أن السجلات مرقَّمة 0، 1، 2… دون فجوة أو تكرار أو سجل خارج السجل؛",
    ),
    "audit.verify.step.tree": (
        "each record gives the leaf hash the Merkle tree holds for it (no record was edited);",
        "أن كل سجل يعطي تجزئة الورقة التي تحفظها شجرة ميركل له (لم يُعدَّل أي سجل)؛",
    ),
    "audit.verify.step.checkpoints": (
        "every checkpoint is signed by this node, is not larger than the log, and its root is "
        "the root of the records it covers;",
        "أن كل نقطة تحقق موقَّعة من هذه العقدة، وليست أكبر من السجل، وأن جذرها هو جذر السجلات "
        "التي تشملها؛",
    ),
    "audit.verify.step.cosignatures": (
        "every partner's cosignature verifies under that partner's key.",
        "أن كل توقيع مشترك من شريك يُتحقَّق منه بمفتاح ذلك الشريك.",
    ),
    "audit.verify.own_side": (
        "This is the node checking itself. An auditor who does not trust the node runs "
        "liaison audit verify on their own computer, which repeats every check.",
        "هذا تحقق العقدة من نفسها. أما المدقق الذي لا يثق بالعقدة فيشغّل liaison audit verify "
        "على حاسوبه، فيعيد كل عمليات التحقق.",
    ),
    "audit.verify.run": ("Verify now", "تحقّق الآن"),
    "audit.verify.run_again": ("Verify again", "أعد التحقق"),
    "audit.verify.result": ("Result of the run", "نتيجة التحقق"),
    "audit.verify.ok": (
        "The log verifies: all {records} records and every checkpoint.",
        "السجل سليم: جميع السجلات البالغ عددها {records} وكل نقاط التحقق.",
    ),
    "audit.verify.failed": (
        "THE LOG DOES NOT VERIFY. It may have been tampered with.",
        "السجل لا يجتاز التحقق. ربما تم العبث به.",
    ),
    "audit.verify.failed_step": ("Failed check", "التحقق الذي أخفق"),
    "audit.verify.failed_record": ("At record", "عند السجل"),
    "audit.verify.whole_log": ("the log as a whole", "السجل ككل"),
    "audit.verify.failed_detail": ("Why", "السبب"),
    "audit.verify.started": ("Started", "بدأ في"),
    "audit.verify.duration": ("Took", "استغرق"),
    "audit.verify.seconds": ("{seconds} s", "{seconds} ث"),
    "audit.verify.records": (
        "Records checked (the tree's size)",
        "السجلات التي تم التحقق منها (حجم الشجرة)",
    ),
    "audit.verify.rate": ("Speed", "السرعة"),
    "audit.verify.per_second": ("{rate} records per second", "{rate} سجل في الثانية"),
    "audit.verify.signed_size": (
        "Size the latest checkpoint signs",
        "الحجم الذي توقّعه آخر نقطة تحقق",
    ),
    "audit.verify.checkpoints": ("Checkpoints checked", "نقاط التحقق التي تم فحصها"),
    "audit.verify.checkpoints_checked": (
        "Checkpoints and their cosignatures",
        "نقاط التحقق وتوقيعاتها المشتركة",
    ),
    "audit.verify.notes": ("Notes", "ملاحظات"),
    # Alerts
    "audit.alerts.title": ("Alerts", "التنبيهات"),
    "audit.alerts.heading": ("Alerts about audit logs", "تنبيهات بشأن سجلات التدقيق"),
    "audit.alerts.intro": (
        "Evidence the node found that a log (a partner's it witnesses, or its own) was "
        "truncated, rolled back, forked or edited.",
        "أدلة وجدتها العقدة على أن سجلاً (لشريك تشهد عليه، أو سجلها هي) قد اقتُطع أو أُعيد إلى "
        "حالة سابقة أو تفرّع أو عُدِّل.",
    ),
    "audit.alerts.none": ("No alert has been raised.", "لم يصدر أي تنبيه."),
    "audit.alerts.subject": ("in the log of {subject}", "في سجل {subject}"),
    "audit.alerts.whose_log": ("Whose log", "سجل مَن"),
    "audit.alerts.detail": ("Detail", "التفاصيل"),
    "audit.alerts.evidence": (
        "Evidence (the signed checkpoints that show it)",
        "الدليل (نقاط التحقق الموقَّعة التي تُظهره)",
    ),
    "audit.alerts.pages": ("Pages of alerts", "صفحات التنبيهات"),
    "audit.alerts.kind.rollback": ("rolled back", "أُعيد إلى حالة سابقة"),
    "audit.alerts.kind.fork": ("forked", "متفرّع"),
    "audit.alerts.kind.tampered": ("tampered with", "تم العبث به"),
    # Reconciling
    "audit.reconcile.title": ("Reconcile", "المطابقة"),
    "audit.reconcile.heading": ("Reconcile with a partner", "المطابقة مع شريك"),
    "audit.reconcile.intro": (
        "The node asks the partner which messages it stored from us and which it sent us, and "
        "compares both lists with its own records and the partner's signed receipts. Every "
        "difference is listed; none is resolved silently.",
        "تسأل العقدة الشريك عن الرسائل التي خزّنها منّا وتلك التي أرسلها إلينا، وتقارن "
        "القائمتين بسجلاتها وبإيصالات الشريك الموقَّعة. تُدرَج كل الفروق، ولا يُسوّى أي منها "
        "بصمت.",
    ),
    "audit.reconcile.run": ("Reconcile now", "طابِق الآن"),
    "audit.reconcile.again": ("Reconcile with {partner} again", "أعد المطابقة مع {partner}"),
    "audit.reconcile.other": ("Choose another partner", "اختر شريكاً آخر"),
    "audit.reconcile.no_partners": (
        "No partner is pinned on this node yet.",
        "لم يُثبَّت أي شريك على هذه العقدة بعد.",
    ),
    "audit.reconcile.result": ("Reconciliation with {partner}", "المطابقة مع {partner}"),
    "audit.reconcile.clean": (
        "Everything matches: no discrepancy.",
        "كل شيء متطابق: لا توجد أي فروق.",
    ),
    "audit.reconcile.found": (
        "{count} discrepancies found.",
        "عدد الفروق التي وُجدت: {count}.",
    ),
    "audit.reconcile.incomplete": (
        "The partner's lists were cut at 100,000 messages: only the messages up to the last one "
        "listed were compared.",
        "اقتُطعت قائمتا الشريك عند 100,000 رسالة: لم تُقارَن إلا الرسائل حتى آخر رسالة مُدرجة.",
    ),
    "audit.reconcile.matched": ("Matched", "متطابقة"),
    "audit.reconcile.pending": ("Pending", "قيد الانتظار"),
    "audit.reconcile.sent": ("Sent to {partner}", "المُرسَلة إلى {partner}"),
    "audit.reconcile.received": ("Received from {partner}", "المُستلَمة من {partner}"),
    "audit.reconcile.discrepancies": ("Discrepancies", "الفروق"),
    "audit.reconcile.direction": ("Direction", "الاتجاه"),
    "audit.reconcile.direction.sent": ("sent by us", "أرسلناها"),
    "audit.reconcile.direction.received": ("received by us", "استلمناها"),
    "audit.reconcile.kind": ("Kind", "النوع"),
    "audit.reconcile.message": ("Message id", "معرّف الرسالة"),
    "audit.reconcile.seq": ("Sequence number", "الرقم التسلسلي"),
    "audit.reconcile.kind.receipt_but_not_received": (
        "the partner signed a receipt but does not list it",
        "وقّع الشريك إيصالاً لكنه لا يُدرجها",
    ),
    "audit.reconcile.kind.received_but_not_sent": (
        "the partner lists a message we never sent",
        "يُدرج الشريك رسالة لم نرسلها قط",
    ),
    "audit.reconcile.kind.received_without_receipt": (
        "the partner lists it; we hold no receipt yet",
        "يُدرجها الشريك؛ ولا نملك إيصالاً بعد",
    ),
    "audit.reconcile.kind.acknowledged_but_not_held": (
        "the partner holds our receipt; we do not hold the message",
        "يملك الشريك إيصالنا؛ ولا نملك الرسالة",
    ),
    "audit.reconcile.kind.received_but_not_listed": (
        "we hold a message the partner does not list as sent",
        "نملك رسالة لا يُدرجها الشريك ضمن ما أرسله",
    ),
}
