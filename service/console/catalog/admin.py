"""Strings of the admin pages: partners and their synchronisation, users, this node."""

from __future__ import annotations

MESSAGES: dict[str, tuple[str, str]] = {
    # Partners
    "admin.partners.title": ("Partners", "الشركاء"),
    "admin.partners.help": (
        "The partner nodes this node exchanges with, and how synchronisation with each stands. "
        "Partners are pinned with liaison partner add, after comparing fingerprints by phone.",
        "العقد الشريكة التي تتبادل معها هذه العقدة، وحالة المزامنة مع كل منها. يُثبَّت الشريك "
        "بالأمر liaison partner add بعد مقارنة البصمات هاتفياً.",
    ),
    "admin.partners.empty": ("No partner is pinned yet.", "لم يُثبَّت أي شريك بعد."),
    "admin.partner.suspended": ("suspended", "معلَّق"),
    "admin.partner.suspended_at": ("Suspended", "تاريخ التعليق"),
    "admin.partner.compromised_since": ("Keys compromised since", "المفاتيح مخترقة منذ"),
    "admin.partner.suspended_reason": ("Why", "السبب"),
    "admin.partner.suspended_help": (
        "Nothing is sealed or sent to this partner and nothing its keys sign is accepted; its "
        "deliveries wait. Resume it with liaison partner resume once it has recovered.",
        "لا يُختم ولا يُرسل شيء إلى هذا الشريك ولا يُقبل شيء توقّعه مفاتيحه؛ تنتظر رسائله. "
        "أعِد تفعيله بالأمر liaison partner resume بعد أن يتعافى.",
    ),
    "admin.partner.removed": ("removed", "أُزيل"),
    "admin.partner.actions": (
        "Suspend, resume, re-pin or remove",
        "تعليق أو استئناف أو إعادة تثبيت أو إزالة",
    ),
    "admin.partner.suspend": ("Suspend", "علِّق"),
    "admin.partner.resume": ("Resume", "استأنف"),
    "admin.partner.resume_help": (
        "The held deliveries go out. After a compromise, re-pin its new identity first (liaison "
        "partner repin).",
        "تُرسل الرسائل المحتجزة. بعد الاختراق، ثبِّت هويته الجديدة أولاً (liaison partner repin).",
    ),
    "admin.partner.compromised_since_field": (
        "Keys may have been copied since (UTC, optional)",
        "ربما نُسخت المفاتيح منذ (UTC، اختياري)",
    ),
    "admin.partner.compromised_since_help": (
        "What it signed from then on goes back to quarantine and its cosignatures stop counting.",
        "ما وقّعه منذ ذلك الحين يعود إلى الحجر وتتوقف تواقيعه المشتركة عن الاحتساب.",
    ),
    "admin.partner.reason_field": ("Why (for the audit log)", "السبب (لسجل التدقيق)"),
    "admin.partner.remove": ("Remove", "أزِل"),
    "admin.partner.remove_confirm": ("Type {node} to remove it", "اكتب {node} لإزالته"),
    "admin.partner.remove_help": (
        "Nothing more is sent to it and its undelivered reports are withdrawn; its records stay.",
        "لا يُرسل إليه شيء بعد الآن وتُسحب تقاريره غير المسلَّمة، وتبقى سجلاته.",
    ),
    "admin.partner.did.suspended": ("{node} is suspended.", "عُلِّق {node}."),
    "admin.partner.did.resumed": ("{node} is active again.", "عاد {node} نشطاً."),
    "admin.partner.did.removed": ("{node} was removed.", "أُزيل {node}."),
    "admin.partner.did.repinned": (
        "{node} is pinned to its new identity. What its old keys signed since the compromise on "
        "record is distrusted; resume it when it is back.",
        "ثُبِّت {node} على هويته الجديدة. ما وقّعته مفاتيحه القديمة منذ الاختراق المسجَّل لم يعد "
        "موثوقاً؛ استأنفه عند عودته.",
    ),
    "admin.partner.new_fingerprint": (
        "Its new fingerprint, as its administrators read it out",
        "بصمته الجديدة كما قرأها مسؤولوه",
    ),
    "admin.partner.repin": ("Re-pin", "أعِد التثبيت"),
    "admin.partner.repin_help": (
        "After it made a new identity: its key document is fetched from this URL and pinned only "
        "if it matches the fingerprint.",
        "بعد أن أنشأ هوية جديدة: تُجلب وثيقة مفاتيحه من هذا العنوان ولا تُثبَّت إلا إذا طابقت البصمة.",
    ),
    "admin.partner.removed_help": (
        "Removed on {when}: nothing more is sent to it and its undelivered reports were "
        "withdrawn; its records are kept. liaison partner repin pins it again.",
        "أُزيل في {when}: لا يُرسل إليه شيء بعد الآن وسُحبت تقاريره غير المسلَّمة، وسجلاته "
        "محفوظة. يعيد الأمر liaison partner repin تثبيته.",
    ),
    "admin.partner.previous": ("Pinned before", "مثبَّت سابقاً"),
    "admin.partner.unpinned": ("replaced {when}", "استُبدل في {when}"),
    "admin.partner.damage_link": (
        "Damage report: what its keys, if copied, could read or forge",
        "تقرير الضرر: ما يمكن قراءته أو تزويره بمفاتيحه إن نُسخت",
    ),
    # Damage report
    "admin.damage.title": ("Damage report: {node}", "تقرير الضرر: {node}"),
    "admin.damage.help": (
        "If this partner's key file was copied at the time below: the envelopes sealed to its "
        "keys (readable by whoever holds the copy and saw the traffic) and the reports received "
        "in its name since then (which the copy could have forged). Metadata only; reading this "
        "page is recorded.",
        "إذا نُسخ ملف مفاتيح هذا الشريك في الوقت أدناه: الرسائل المختومة لمفاتيحه (يقرؤها من "
        "يملك النسخة ورأى الحركة) والتقارير الواردة باسمه منذ ذلك الحين (التي ربما زوّرتها "
        "النسخة). بيانات وصفية فقط، وتُسجَّل قراءة هذه الصفحة.",
    ),
    "admin.damage.since": ("Copied at (UTC)", "وقت النسخ (بالتوقيت العالمي)"),
    "admin.damage.show": ("Show", "اعرض"),
    "admin.damage.bad_time": (
        "Give a time such as 2026-12-01T08:00Z.",
        "أدخل وقتاً مثل 2026-12-01T08:00Z.",
    ),
    "admin.damage.future": ("That time is in the future.", "هذا الوقت في المستقبل."),
    "admin.damage.summary": ("By TLP", "بحسب TLP"),
    "admin.damage.sealed_after": (
        "Sealed to its keys since then (readable with the copy)",
        "مختوم لمفاتيحه منذ ذلك الحين (يُقرأ بالنسخة)",
    ),
    "admin.damage.sealed_before": (
        "Sealed before (readable if that key was still in the copy)",
        "مختوم قبل ذلك (يُقرأ إن كان المفتاح ما زال في النسخة)",
    ),
    "admin.damage.signed": ("Received in its name since then", "الوارد باسمه منذ ذلك الحين"),
    "admin.damage.received": ("Received from {node} since then", "الوارد من {node} منذ ذلك الحين"),
    "admin.damage.sealed_to": ("Sealed to {node}'s keys", "المختوم لمفاتيح {node}"),
    "admin.damage.seq": ("Seq", "التسلسل"),
    "admin.damage.status": ("Status", "الحالة"),
    "admin.damage.signed_by": ("Signed by", "الموقِّع"),
    "admin.damage.at": ("Received", "وقت الاستلام"),
    "admin.damage.verdict": ("Verdict", "الحكم"),
    "admin.damage.forged": (
        "signed by the old keys, never sent again: treat as forged",
        "موقَّع بالمفاتيح القديمة ولم يُرسل ثانية: عامِله كمزوَّر",
    ),
    "admin.damage.state": ("State", "الحالة"),
    "admin.damage.key": ("Sealed to key", "مختوم للمفتاح"),
    "admin.damage.sealed_at": ("Sealed", "وقت الختم"),
    "admin.damage.exposure": ("Exposure", "الانكشاف"),
    "admin.damage.readable": ("readable with the copy", "يُقرأ بالنسخة"),
    "admin.damage.if_key_kept": (
        "readable only if its key was in the copy",
        "يُقرأ فقط إن كان مفتاحه في النسخة",
    ),
    "admin.partner.heading": ("Partner {node}", "الشريك {node}"),
    "admin.partner.in_sync": ("up to date", "متزامن"),
    "admin.partner.backlogged": ("reports waiting", "تقارير بانتظار التسليم"),
    "admin.partner.failing": ("errors", "أخطاء"),
    "admin.partner.name": ("Name", "الاسم"),
    "admin.partner.endpoint": ("Endpoint", "عنوان الاتصال"),
    "admin.partner.fingerprint": ("Pinned fingerprint", "البصمة المثبَّتة"),
    "admin.partner.key_serial": ("Key document serial", "الرقم التسلسلي لوثيقة المفاتيح"),
    "admin.partner.added": ("Pinned on", "تاريخ التثبيت"),
    "admin.partner.outbound": ("What we send", "ما نرسله"),
    "admin.partner.backlog": ("Undelivered reports", "التقارير غير المسلَّمة"),
    "admin.partner.by_state": ("Deliveries by state", "عمليات التسليم حسب الحالة"),
    "admin.partner.oldest": ("Oldest undelivered since", "أقدم تقرير غير مسلَّم منذ"),
    "admin.partner.next_attempt": ("Next attempt", "المحاولة التالية"),
    "admin.partner.last_success": ("Last successful delivery", "آخر تسليم ناجح"),
    "admin.partner.last_error": ("Last delivery error", "آخر خطأ في التسليم"),
    "admin.partner.next_seq": ("Next sequence number", "رقم التسلسل التالي"),
    "admin.partner.inbound": ("What they send us", "ما يرسلونه إلينا"),
    "admin.partner.received": ("Reports received", "التقارير المستلَمة"),
    "admin.partner.received_through": (
        "Received without a gap up to sequence",
        "مستلَم دون انقطاع حتى رقم التسلسل",
    ),
    "admin.partner.highest": ("Highest sequence received", "أعلى رقم تسلسل مستلَم"),
    "admin.partner.missing": ("Missing below it", "المفقود دونه"),
    "admin.partner.last_received": ("Last received", "آخر استلام"),
    "admin.partner.last_pull": ("Last pull", "آخر سحب"),
    "admin.partner.last_pull_error": ("Last pull error", "آخر خطأ في السحب"),
    # Users
    "admin.users.title": ("Users", "المستخدمون"),
    "admin.users.username": ("Username", "اسم المستخدم"),
    "admin.users.role": ("Role", "الدور"),
    "admin.users.clearance": ("Clearance", "التصريح"),
    "admin.users.account": ("Account", "الحساب"),
    "admin.users.created": ("Created", "تاريخ الإنشاء"),
    "admin.users.active": ("active", "نشط"),
    "admin.users.actions": ("Change", "تغيير"),
    "admin.users.disable": ("Disable", "تعطيل"),
    "admin.users.enable": ("Enable", "تفعيل"),
    "admin.users.changed.disabled": (
        "{user} is disabled: every token and console session of the account has ended.",
        "عُطِّل الحساب {user}: انتهت كل رموزه وجلساته في وحدة التحكم.",
    ),
    "admin.users.changed.enabled": (
        "{user} is enabled again; it logs in anew.",
        "أُعيد تفعيل الحساب {user}؛ يسجّل الدخول من جديد.",
    ),
    "admin.users.disabled": ("disabled", "معطَّل"),
    "admin.users.no_content": ("reads no content", "لا يطّلع على المحتوى"),
    "admin.users.empty": ("No users yet.", "لا يوجد مستخدمون بعد."),
    "admin.users.added": (
        "User {user} was added and can log in now.",
        "أُضيف المستخدم {user} ويمكنه تسجيل الدخول الآن.",
    ),
    "admin.users.add": ("Add a user", "إضافة مستخدم"),
    "admin.users.username_help": (
        "2 to 64 characters: lower-case Latin letters, digits, '.', '_' or '-'.",
        "من 2 إلى 64 محرفاً: أحرف لاتينية صغيرة وأرقام و«.» و«_» و«-».",
    ),
    "admin.users.password": ("Password", "كلمة المرور"),
    "admin.users.password_again": ("Password again", "كلمة المرور مرة أخرى"),
    "admin.users.password_help": (
        "At least {n} characters. Hand it to the user in person.",
        "{n} محرفاً على الأقل. سلّمها إلى المستخدم شخصياً.",
    ),
    "admin.users.clearance_default": ("default: {level}", "الافتراضي: {level}"),
    "admin.users.clearance_help": (
        "The highest TLP level an officer or releaser may read. Auditors and administrators "
        "read no report content: leave the default for them.",
        "أعلى مستوى TLP يحق لضابط الارتباط أو المخوَّل بالإصدار قراءته. لا يطّلع المدققون "
        "والمسؤولون على محتوى التقارير: اترك القيمة الافتراضية لهم.",
    ),
    "admin.users.submit": ("Add the user", "إضافة المستخدم"),
    "admin.users.not_added": (
        "The user was not added. Correct the form and try again.",
        "لم يُضَف المستخدم. صحّح النموذج وأعد المحاولة.",
    ),
    "admin.users.error.taken": (
        "This username is already taken.",
        "اسم المستخدم هذا مستخدَم بالفعل.",
    ),
    "admin.users.error.username": (
        "Use 2 to 64 lower-case Latin letters, digits, '.', '_' or '-', starting with a letter "
        "or a digit.",
        "استخدم من 2 إلى 64 محرفاً من الأحرف اللاتينية الصغيرة والأرقام و«.» و«_» و«-»، يبدأ "
        "بحرف أو رقم.",
    ),
    "admin.users.error.role": ("Choose one of the roles.", "اختر أحد الأدوار."),
    "admin.users.error.clearance": ("Choose a TLP level.", "اختر مستوى TLP."),
    "admin.users.error.no_clearance": (
        "This role reads no report content, so it takes no clearance: leave the default.",
        "هذا الدور لا يطّلع على محتوى التقارير، فلا يُمنح تصريحاً: اترك القيمة الافتراضية.",
    ),
    "admin.users.error.password": (
        "The password is too weak: use at least {n} characters.",
        "كلمة المرور ضعيفة: استخدم {n} محرفاً على الأقل.",
    ),
    "admin.users.error.mismatch": (
        "The two passwords differ.",
        "كلمتا المرور غير متطابقتين.",
    ),
    "admin.users.error.general": ("The node refused this user.", "رفضت العقدة هذا المستخدم."),
    # This node
    "admin.node.title": ("This node", "هذه العقدة"),
    "admin.node.identity": ("Identity", "الهوية"),
    "admin.node.id": ("Node id", "معرّف العقدة"),
    "admin.node.name": ("Name", "الاسم"),
    "admin.node.public_url": ("Public URL", "العنوان العام"),
    "admin.node.fingerprint": ("Fingerprint", "البصمة"),
    "admin.node.fingerprint_help": (
        "Read it to the partner's administrators over the phone, group by group: they compare "
        "it with the fingerprint they give liaison partner add. Twelve groups of five digits.",
        "اقرأها لمسؤولي الشريك هاتفياً مجموعةً مجموعة: يقارنونها بالبصمة التي يُدخلونها في "
        "الأمر liaison partner add. اثنتا عشرة مجموعة من خمسة أرقام.",
    ),
    "admin.node.on_one_line": ("On one line", "في سطر واحد"),
    "admin.node.signing_key_id": ("Signing key id", "معرّف مفتاح التوقيع"),
    "admin.node.key_serial": (
        "Serial of the published key document",
        "الرقم التسلسلي لوثيقة المفاتيح المنشورة",
    ),
    "admin.node.previous": ("Fingerprints before", "البصمات السابقة"),
    "admin.node.previous_help": (
        "This node's identities before liaison node new-identity: checkpoints they signed still "
        "verify under them.",
        "هويات هذه العقدة قبل الأمر liaison node new-identity: ما زالت نقاط التحقق التي وقّعتها "
        "قابلة للتحقق بها.",
    ),
    "admin.node.retired": ("replaced {when}", "استُبدلت في {when}"),
    "admin.node.data_keys": ("Data keys", "مفاتيح البيانات"),
    "admin.node.data_keys_help": (
        "The keys that seal report content in the database. liaison node rotate-data-key adds "
        "one; the node then re-seals what is stored under it, and liaison node retire-data-keys "
        "removes the older ones.",
        "المفاتيح التي تختم محتوى التقارير في قاعدة البيانات. يضيف الأمر liaison node "
        "rotate-data-key مفتاحاً، فتعيد العقدة ختم المخزَّن به، ويزيل الأمر liaison node "
        "retire-data-keys المفاتيح الأقدم.",
    ),
    "admin.node.data_key_current": ("Sealing with", "الختم بالمفتاح"),
    "admin.node.data_keys_held": ("Held", "المفاتيح المحفوظة"),
    "admin.node.data_keys_in_use": ("Stored values", "القيم المخزَّنة"),
    "admin.node.values_under": ("{n} under key {key}", "{n} بالمفتاح {key}"),
    "admin.node.reseal": ("Re-seal", "إعادة الختم"),
    "admin.node.reseal_done": (
        "done: nothing stored needs an older key",
        "اكتملت: لا شيء مخزَّن يحتاج مفتاحاً أقدم",
    ),
    "admin.node.reseal_running": ("under way, {n} so far", "جارية، {n} حتى الآن"),
    "admin.node.retire_hint": (
        "The older data keys are no longer needed: retire them with liaison node "
        "retire-data-keys, then reload the keys.",
        "لم تعد مفاتيح البيانات الأقدم لازمة: أزِلها بالأمر liaison node retire-data-keys ثم "
        "أعِد تحميل المفاتيح.",
    ),
    "admin.node.sessions": ("Console and sessions", "وحدة التحكم والجلسات"),
    "admin.node.idle": (
        "A console session ends after this long unused (minutes)",
        "تنتهي جلسة وحدة التحكم بعد هذه المدة دون استخدام (بالدقائق)",
    ),
    "admin.node.max": (
        "A console session ends this long after login (minutes)",
        "تنتهي جلسة وحدة التحكم بعد هذه المدة من تسجيل الدخول (بالدقائق)",
    ),
    "admin.node.token_ttl": (
        "Lifetime of an API token (minutes)",
        "مدة صلاحية رمز الواجهة البرمجية (بالدقائق)",
    ),
    "admin.node.login_failures": (
        "Failed logins before an account must wait",
        "عدد محاولات الدخول الفاشلة قبل أن يُفرض الانتظار على الحساب",
    ),
    "admin.node.min_password": (
        "Shortest password accepted (characters)",
        "أقصر كلمة مرور مقبولة (بالمحارف)",
    ),
    "admin.node.cookie": ("Session cookie", "ملف تعريف ارتباط الجلسة"),
    "admin.node.settings_help": (
        "These come from node.toml and LIAISON_* variables; they change when the node restarts.",
        "تأتي هذه القيم من \u2066node.toml\u2069 ومتغيرات \u2066LIAISON_*\u2069، وتتغير عند إعادة "
        "تشغيل العقدة.",
    ),
}
