//! Measures the classifier against the Sisimai corpus (`../shared/corpus/sisimai`,
//! relative to the repository root): every email in every folder is
//! classified without a panic, per-record agreement with Sisimai's labels
//! stays above a floor, and the disagreements we keep on purpose stay
//! decisions. Skips with a note when the corpus is absent.

use mailtriage::kb::KnowledgeBase;
use mailtriage::sisimai::{measure, Measurement};
use std::path::PathBuf;
use std::sync::OnceLock;

/// Per-record agreement the knowledge base must keep (a little under what it reaches).
const FLOOR: f64 = 0.935;

/// Disagreements with Sisimai's labels that are decisions, not misses:
/// (file, the reason we give, why).
const ON_PURPOSE: &[(&str, &str, &str)] = &[
    (
        "emails/bsd/lhost-activehunter-02.eml",
        "userunknown",
        "the server said `Recipient address rejected: User unknown in local recipient table`, Postfix's RCPT-time lookup; \
         Sisimai calls it filtered only because this report format never names the SMTP phase",
    ),
    (
        "emails/bsd/lhost-receivingses-01.eml",
        "userunknown",
        "`550 5.1.1 Mailbox does not exist`: status and text both say the address is unknown \
         (go-sisimai 5.2 agrees; p5-sisimai 5.1 said filtered)",
    ),
    (
        "emails/bsd/rfc3464-35.eml",
        "networkerror",
        "the delay notice's `Status: 4.0.0 (cat.example.net: host name lookup failure)` names a DNS lookup failure \
         (networkerror, as Sisimai files the same words in a Diagnostic-Code); Sisimai reads no diagnostic there and \
         falls back to the delay (expired)",
    ),
    (
        "emails/bsd/lhost-qmail-07.eml",
        "expired",
        "qmail's `wasn't able to establish an SMTP connection (#4.4.1)` after the queue gave up is X.4.1, no answer \
         from any MX: the situation Sisimai files as expired when Gmail words it (`did not accept our requests to \
         connect`); only Sisimai's qmail table calls it a network error",
    ),
    (
        "emails/bsd/lhost-x2-06.eml",
        "expired",
        "the same qmail `wasn't able to establish an SMTP connection (#4.4.1)` after the queue gave up: no answer \
         from any MX, expired as above",
    ),
    (
        "emails/bsd/rhost-aol-06.eml",
        "networkerror",
        "Postfix's `type=MX: Malformed or unexpected name server reply` is a DNS fault (Sisimai agrees in \
         lhost-postfix-17); only Sisimai's AOL-specific table reads it as a null MX (notaccept)",
    ),
    (
        "emails/bsd/lhost-exchange2007-03.eml",
        "exceedlimit",
        "`550 5.2.3 RESOLVER.RST.RecipSizeLimit; message too large for this recipient`: a per-recipient limit, which is \
         what RFC 3463 X.2.3 (exceedlimit in Sisimai's own status table) means; only Sisimai's Exchange table says mesgtoobig",
    ),
    (
        "emails/bsd/lhost-sendmail-13.eml",
        "mailboxfull",
        "the local delivery agent's own line says `maildrop: maildir over quota.` before sendmail's \
         `550 ... Insufficient permission` (its exit code 77); Sisimai reads only the x.3.0 status (systemerror)",
    ),
    (
        "emails/bsd/lhost-sendmail-21.eml",
        "expired",
        "sendmail's `Deferred: Connection refused by <mx>` until the queue gave up: no MX took a connection, which \
         Sisimai itself files as expired in lhost-sendmail-54 (same words); nothing says the sender was blocked",
    ),
    (
        "emails/bsd/lhost-receivingses-02.eml",
        "userunknown",
        "`550 5.1.1 Mailbox does not exist`, as in receivingses-01 (go-sisimai 5.2 agrees)",
    ),
    (
        "emails/bsd/lhost-sendmail-27.eml",
        "userunknown",
        "the session shows `550 5.1.1 ... User unknown` then `503 Need RCPT`: a pipelined RCPT TO refusal read after DATA; \
         the x.1.1 status names the address",
    ),
    (
        "emails/bsd/lhost-sendmail-48.eml",
        "userunknown",
        "`Recipient address rejected: User unknown` (Postfix's RCPT-time check) and `550 5.1.1 ... User unknown` in the session",
    ),
    (
        "emails/bsd/rfc3464-42.eml",
        "userunknown",
        "`The email account that you tried to reach does not exist` is Gmail's wording for its 5.1.1 NoSuchUser",
    ),
    (
        "emails/bsd/rfc3464-01.eml",
        "userunknown",
        "`550 5.1.1 <...>... User Unknown` with Status 5.1.1: nothing in it speaks of a full mailbox",
    ),
    (
        "emails/bsd/lhost-ezweb-02.eml",
        "userunknown",
        "`550 user unknown (in reply to RCPT TO command)`: refused at RCPT TO in user-unknown words; nothing says suspended",
    ),
    (
        "emails/bsd/lhost-exim-46.eml",
        "requireptr",
        "`554 5.7.1 [C14] Missing reverse DNS for <ip>`: the reply names the missing PTR; Sisimai calls it blocked for the phase",
    ),
    (
        "emails/bsd/lhost-dragonfly-18.eml",
        "policyviolation",
        "`550 5.7.0 ... Recipient address rejected: Policy violation`: the words say policy; Sisimai files it by the x.7 status",
    ),
    (
        "emails/bsd/rhost-zoho-03.eml",
        "spamdetected",
        "`554 5.7.1 Email cannot be delivered. Reason: Email flagged as Spam.`: an explicit spam verdict",
    ),
    (
        "emails/bsd/lhost-postfix-74.eml",
        "badreputation",
        "Yahoo's `[TSS04] ... temporarily deferred due to unexpected volume or user complaints`: a reputation deferral, \
         not a refused sender",
    ),
    (
        "emails/bsd/rhost-yahooinc-02.eml",
        "badreputation",
        "Yahoo's TSS04 deferral, as in lhost-postfix-74",
    ),
    (
        "emails/bsd/rhost-nttdocomo-02.eml",
        "filtered",
        "docomo's `550 Unknown user ... (in reply to end of DATA command)`: the address was accepted at RCPT TO; the \
         recipient's reception settings refused this sender (Sisimai names the sender: rejected)",
    ),
    (
        "emails/bsd/rhost-nttdocomo-03.eml",
        "filtered",
        "docomo's DATA-time `Unknown user`, as in rhost-nttdocomo-02",
    ),
    (
        "emails/bsd/lhost-gmail-03.eml",
        "policyviolation",
        "`554 5.7.0 Header error (state 18)`: a header refusal under a policy status; Sisimai's own reason tests file \
         `Header error` under PolicyViolation",
    ),
    (
        "emails/bsd/rhost-mimecast-02.eml",
        "policyviolation",
        "Mimecast's `554 email rejected due to security policies - MCSpamSignature`: no virus is named; Sisimai's own \
         reason tests list this exact reply under PolicyViolation",
    ),
    (
        "emails/bsd/lhost-mcafee-01.eml",
        "filtered",
        "`550 Unknown user <addr>` with no address status and no SMTP phase: the same words are filtered in \
         lhost-mfilter-01 and lhost-messagingserver-03; the engine asks whether the address is known to work \
         (best guess filtered); Sisimai's userunknown comes from its McAfee table",
    ),
    (
        "emails/bsd/lhost-mcafee-04.eml",
        "filtered",
        "`550 <addr>... No such user` with no status or phase: filtered in lhost-mfilter-03 and lhost-surfcontrol-01 \
         in the same words; the engine asks, as in lhost-mcafee-01",
    ),
    (
        "emails/bsd/lhost-mcafee-05.eml",
        "filtered",
        "`550 <addr>... User not exist` with no status or phase: the engine asks, as in lhost-mcafee-01",
    ),
    (
        "emails/bsd/rhost-messagelabs-02.eml",
        "filtered",
        "`550 <addr>... No such user` under `Status: 5.0.0`, no phase: the words of lhost-mfilter-03 (filtered); the \
         engine asks",
    ),
    (
        "emails/bsd/lhost-imailserver-01.eml",
        "filtered",
        "IMail's `Unknown user: <addr>` quotes no server reply, status or phase: the engine asks whether the address \
         works",
    ),
    (
        "emails/bsd/lhost-verizon-02.eml",
        "filtered",
        "`550 - Requested action not taken: no such user here` with no status or phase: the engine asks",
    ),
    (
        "emails/bsd/rhost-franceptt-08.eml",
        "blocked",
        "`Service refuse ... Service refused, please try later. OFR005_505`: the words say the client was refused; \
         no public Orange documentation of code 505 says otherwise (Sisimai's table says systemerror)",
    ),
    (
        "emails/bsd/rhost-franceptt-10.eml",
        "blocked",
        "`550 5.5.0 Service refuse ... service refused, please try later. LPN001_108`: the client was refused; Sisimai \
         has no reason for code 108 (undefined)",
    ),
    (
        "emails/bsd/rhost-franceptt-12.eml",
        "blocked",
        "`<host>: Client host rejected: #216 lpn LPN000_630`: the reply says the client host was rejected",
    ),
    (
        "emails/bsd/rhost-messagelabs-03.eml",
        "onhold",
        "`542 <addr> Rejected` under `Status: 5.0.0` names no reason; Sisimai's userunknown comes from its MessageLabs table",
    ),
    (
        "emails/bsd/lhost-ezweb-01.eml",
        "onhold",
        "`Each of the following recipients was rejected by a remote mail server` names no reason",
    ),
    (
        "emails/bsd/rhost-zoho-04.eml",
        "onhold",
        "`541 5.4.1 Mail rejected by destination domain` at RCPT TO names no reason (nothing says the sender was refused)",
    ),
    (
        "emails/bsd/lhost-mfilter-04.eml",
        "onhold",
        "`550 5.4.1 All recipient addresses rejected : Access denied` names no reason and no sender",
    ),
];

fn corpus() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/sisimai");
    if dir.join("labels.tsv").is_file() {
        Some(dir)
    } else {
        eprintln!(
            "note: {} is absent; the Sisimai corpus test is skipped",
            dir.display()
        );
        None
    }
}

fn measurement() -> Option<&'static Measurement> {
    static RESULT: OnceLock<Option<Measurement>> = OnceLock::new();
    RESULT
        .get_or_init(|| {
            let dir = corpus()?;
            let kb = KnowledgeBase::embedded().expect("embedded rules load");
            Some(measure(&kb, &dir).expect("corpus readable"))
        })
        .as_ref()
}

#[test]
fn every_file_of_the_corpus_is_read_without_a_panic() {
    let Some(m) = measurement() else { return };
    assert!(m.files.len() >= 800, "only {} files found", m.files.len());
    let panics: Vec<_> = m
        .panics()
        .iter()
        .map(|f| format!("{}: {}", f.path, f.panic.as_deref().unwrap_or("")))
        .collect();
    assert!(panics.is_empty(), "panics:\n{}", panics.join("\n"));
    for folder in [
        "emails/mac/",
        "emails/mailbox/",
        "emails/something-is-wrong/",
        "emails/dos/",
    ] {
        assert!(
            m.files.iter().any(|f| f.path.starts_with(folder)),
            "{folder} not read"
        );
    }
    let silent: Vec<_> = m
        .files
        .iter()
        .filter(|f| f.got.is_empty())
        .map(|f| f.path.as_str())
        .collect();
    assert!(silent.is_empty(), "files with no result at all: {silent:?}");
}

#[test]
fn agreement_with_sisimai_labels_stays_above_the_floor() {
    let Some(m) = measurement() else { return };
    let (agreed, total) = m.records();
    println!("{}", m.render());
    assert!(total >= 600, "only {total} labelled records found");
    assert!(
        m.record_rate() >= FLOOR,
        "per-record agreement {agreed}/{total} = {:.1}% is below the floor {:.0}%",
        m.record_rate() * 100.0,
        FLOOR * 100.0
    );
}

#[test]
fn disagreements_on_purpose_are_still_what_we_decided() {
    let Some(m) = measurement() else { return };
    for (path, ours, why) in ON_PURPOSE {
        let file = m
            .files
            .iter()
            .find(|f| f.path == *path)
            .unwrap_or_else(|| panic!("{path} missing"));
        assert!(
            file.got.iter().any(|g| g == ours),
            "{path}: we decided {ours} ({why}), got {:?}",
            file.got
        );
        assert!(
            !file.agrees(),
            "{path}: now agrees with Sisimai; drop it from ON_PURPOSE"
        );
    }
}
