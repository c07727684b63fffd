-- The name of an agency is the DonViXuLy of its dossier with the greatest
-- (NgayCapNhat, MaHoSo), codes in byte order. This index answers that with one index
-- probe per agency instead of sorting every dossier on each computation.
CREATE INDEX dossiers_agency_latest_idx
    ON dossiers (agency, updated_at DESC, code COLLATE "C" DESC) INCLUDE (agency_name);
