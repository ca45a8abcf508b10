"""The store's schema as numbered migrations; `PRAGMA user_version` says which have run."""

from __future__ import annotations

from typing import Final

MIGRATIONS: Final[tuple[str, ...]] = (
    # 1: records, the inverted index, libraries and users, the significant-change log
    """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE records (
        id INTEGER PRIMARY KEY,          -- the Melinda ID, never reused
        seq INTEGER NOT NULL UNIQUE,     -- change sequence: OAI-PMH pages by it
        datestamp INTEGER NOT NULL,      -- last change, epoch seconds UTC
        version INTEGER NOT NULL,        -- the 024 $d stamp: rises with every save of the record
        deleted INTEGER NOT NULL DEFAULT 0,
        xml BLOB NOT NULL,               -- fin01 view, MARCXML ready to splice
        alma_xml BLOB NOT NULL,          -- fin01alma view, MARCXML ready to splice
        sort_title TEXT NOT NULL DEFAULT '',
        sort_author TEXT NOT NULL DEFAULT '',
        sort_date TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX records_datestamp ON records (datestamp, seq);
    CREATE TABLE terms (
        ix INTEGER NOT NULL,
        term TEXT NOT NULL,
        rec INTEGER NOT NULL,
        PRIMARY KEY (ix, term, rec)
    ) WITHOUT ROWID;
    CREATE TABLE libraries (
        code TEXT PRIMARY KEY,           -- upper case; also the staff user's name
        name TEXT NOT NULL DEFAULT '',
        sid_code TEXT NOT NULL,
        level INTEGER NOT NULL DEFAULT 30,
        privileged INTEGER NOT NULL DEFAULT 0,
        password_hash TEXT NOT NULL DEFAULT ''
    );
    CREATE TABLE library_lows (
        code TEXT NOT NULL REFERENCES libraries (code) ON DELETE CASCADE,
        low TEXT NOT NULL,
        PRIMARY KEY (code, low)
    );
    CREATE TABLE ssh_keys (
        code TEXT NOT NULL REFERENCES libraries (code) ON DELETE CASCADE,
        key TEXT NOT NULL,
        PRIMARY KEY (code, key)
    );
    CREATE TABLE significant_changes (
        seq INTEGER PRIMARY KEY,         -- the change sequence of the save
        rec INTEGER NOT NULL,
        at INTEGER NOT NULL,
        user TEXT NOT NULL,
        library TEXT NOT NULL,
        fields TEXT NOT NULL             -- JSON: [{"tag", "before": [...], "after": [...]}]
    );
    """,
    # 2: which LOW-publishing files were applied, so a file is never applied twice after a crash
    """
    CREATE TABLE publishing_log (
        library TEXT NOT NULL,
        file_key TEXT NOT NULL,
        at INTEGER NOT NULL,
        result TEXT NOT NULL,            -- JSON of what the file did
        PRIMARY KEY (library, file_key)
    );
    """,
    # 3: OAI-PMH harvests of joining libraries: each run's state and report (JSON), and which
    # record each harvested local id went into, with the digest of the source record applied
    """
    CREATE TABLE harvests (
        id INTEGER PRIMARY KEY,
        library TEXT NOT NULL,
        state TEXT NOT NULL,             -- running, stopped, failed, done
        run TEXT NOT NULL                -- JSON: the definition, resumption token, counts, report
    );
    CREATE TABLE harvested (
        library TEXT NOT NULL,
        identifier TEXT NOT NULL,        -- the OAI-PMH identifier at the source
        rec INTEGER NOT NULL,            -- the Melinda record holding the library's LOW and SID
        how TEXT NOT NULL,               -- created (the harvest made it) or merged (into Melinda's)
        digest TEXT NOT NULL,            -- of the source record last applied
        PRIMARY KEY (library, identifier)
    ) WITHOUT ROWID;
    """,
    # 4: the fin01 view also as ISO 2709, made when the record is prepared, so Z39.50 Present
    # sends stored bytes; NULL (records saved before, or too long for ISO 2709) is converted
    # when presented
    """
    ALTER TABLE records ADD COLUMN iso BLOB;
    """,
    # 5: ISO 18626 interlibrary loans: each request and every message in and out of it
    """
    CREATE TABLE ill_requests (
        id INTEGER PRIMARY KEY,
        role TEXT NOT NULL,              -- requester | supplier: which side this library is on
        library TEXT NOT NULL,
        own_symbol TEXT NOT NULL,
        peer_symbol TEXT NOT NULL,
        peer_url TEXT NOT NULL,          -- where this side's messages go
        request_id TEXT NOT NULL,        -- requestingAgencyRequestId
        supplier_request_id TEXT NOT NULL DEFAULT '',
        service TEXT NOT NULL DEFAULT '',
        record TEXT NOT NULL DEFAULT '',  -- the Melinda ID the request resolved to
        scenario TEXT NOT NULL DEFAULT '',
        profile TEXT NOT NULL DEFAULT 'standard',
        status TEXT NOT NULL DEFAULT '',
        received INTEGER NOT NULL DEFAULT 0,
        error TEXT NOT NULL DEFAULT '',
        created REAL NOT NULL,
        updated REAL NOT NULL,
        UNIQUE (role, own_symbol, peer_symbol, request_id)
    );
    CREATE TABLE ill_messages (
        id INTEGER PRIMARY KEY,
        request INTEGER NOT NULL REFERENCES ill_requests (id) ON DELETE CASCADE,
        direction TEXT NOT NULL,         -- in | out
        kind TEXT NOT NULL,
        summary TEXT NOT NULL,           -- the status, action or "request" it carries
        body TEXT NOT NULL,              -- the message as JSON
        delivery TEXT NOT NULL,          -- in: received; out: planned pending delivered rejected failed skipped
        due REAL NOT NULL DEFAULT 0,     -- when it may be sent (next try), epoch seconds
        attempts INTEGER NOT NULL DEFAULT 0,
        detail TEXT NOT NULL DEFAULT '',
        at REAL NOT NULL
    );
    CREATE INDEX ill_messages_request ON ill_messages (request, id);
    CREATE INDEX ill_messages_open ON ill_messages (due) WHERE delivery IN ('planned', 'pending');
    """,
    # 6: Asteri, the authority base fin11: its own records (own ids, own change sequence) and
    # index, the same shape as the bib base's, so one code serves both
    """
    CREATE TABLE aut_records (
        id INTEGER PRIMARY KEY,          -- the Asteri record number, never reused
        seq INTEGER NOT NULL UNIQUE,     -- the authority base's own change sequence
        datestamp INTEGER NOT NULL,
        version INTEGER NOT NULL,
        deleted INTEGER NOT NULL DEFAULT 0,
        xml BLOB NOT NULL,               -- the record (authorities have no Alma view)
        alma_xml BLOB NOT NULL,
        sort_title TEXT NOT NULL DEFAULT '',
        sort_author TEXT NOT NULL DEFAULT '',
        sort_date TEXT NOT NULL DEFAULT '',
        iso BLOB                         -- as the bib base's (migration 4); authorities leave it NULL
    );
    CREATE INDEX aut_records_datestamp ON aut_records (datestamp, seq);
    CREATE TABLE aut_terms (
        ix INTEGER NOT NULL,
        term TEXT NOT NULL,
        rec INTEGER NOT NULL,
        PRIMARY KEY (ix, term, rec)
    ) WITHOUT ROWID;
    """,
    # 7: Asteri's linking jobs not finished: written with the authority's save, removed when
    # every linked bib record follows it, so a job a crash cut short runs again at start
    """
    CREATE TABLE asteri_relinks (
        authority INTEGER PRIMARY KEY,   -- the Asteri record number
        since INTEGER NOT NULL           -- the change sequence of the save that made it due
    );
    """,
    # 8: the fin01 view's OAI-PMH forms, made when the record is saved, so a harvest sends
    # stored bytes: its set specs (a JSON list) and its marc21 `<record>`; NULL (deleted
    # records, rows saved before, authorities) is made when harvested
    """
    ALTER TABLE records ADD COLUMN oai_sets TEXT;
    ALTER TABLE records ADD COLUMN oai_marc21 BLOB;
    ALTER TABLE aut_records ADD COLUMN oai_sets TEXT;
    ALTER TABLE aut_records ADD COLUMN oai_marc21 BLOB;
    """,
    # 9: each record's forms in a table of their own, and in the record's row its tail (what
    # a LOW change rewrites: gateway/records/tails.py), so that a LOW-publishing file updates
    # narrow rows instead of rewriting ~15 KB a record; rows kept so far stay whole (tail NULL)
    """
    CREATE TABLE record_forms (
        id INTEGER PRIMARY KEY,
        xml BLOB NOT NULL,               -- fin01 view, whole or the body of a split record
        alma_xml BLOB NOT NULL,          -- fin01alma view, the same
        iso BLOB,                        -- the fin01 view as ISO 2709 (migration 4), the same
        oai_marc21 BLOB                  -- its OAI-PMH marc21 form (migration 8)
    );
    INSERT INTO record_forms (id, xml, alma_xml, iso, oai_marc21)
        SELECT id, xml, alma_xml, iso, oai_marc21 FROM records;
    ALTER TABLE records DROP COLUMN xml;
    ALTER TABLE records DROP COLUMN alma_xml;
    ALTER TABLE records DROP COLUMN iso;
    ALTER TABLE records DROP COLUMN oai_marc21;
    ALTER TABLE records ADD COLUMN tail BLOB;      -- MARCXML from the first SID (or CAT, LOW) on
    ALTER TABLE records ADD COLUMN iso_tail BLOB;  -- the same fields in ISO 2709
    ALTER TABLE records ADD COLUMN stamp BLOB;     -- the 005 when newer than the body's
    CREATE TABLE aut_record_forms (
        id INTEGER PRIMARY KEY,
        xml BLOB NOT NULL,
        alma_xml BLOB NOT NULL,
        iso BLOB,
        oai_marc21 BLOB
    );
    INSERT INTO aut_record_forms (id, xml, alma_xml, iso, oai_marc21)
        SELECT id, xml, alma_xml, iso, oai_marc21 FROM aut_records;
    ALTER TABLE aut_records DROP COLUMN xml;
    ALTER TABLE aut_records DROP COLUMN alma_xml;
    ALTER TABLE aut_records DROP COLUMN iso;
    ALTER TABLE aut_records DROP COLUMN oai_marc21;
    ALTER TABLE aut_records ADD COLUMN tail BLOB;
    ALTER TABLE aut_records ADD COLUMN iso_tail BLOB;
    ALTER TABLE aut_records ADD COLUMN stamp BLOB;
    """,
)
