//! Signed envelopes, trust sets and key files (`fetch::signing`).

use fetch::signing::{
    sign, verify, KeyError, KeyPair, PublicKey, SignatureError, Trust, ENVELOPE_MAGIC, HEADER_LEN,
};
use std::os::unix::fs::PermissionsExt;

fn trusting(keys: &[&KeyPair]) -> Trust {
    let mut t = Trust::new();
    for k in keys {
        t.add(k.public());
    }
    t
}

#[test]
fn round_trip() {
    let k = KeyPair::generate();
    let env = sign(&k, b"payload bytes");
    assert_eq!(&env[..8], &ENVELOPE_MAGIC);
    assert_eq!(env.len(), HEADER_LEN + 13);
    assert_eq!(verify(&env, &trusting(&[&k])).unwrap(), b"payload bytes");
    let empty = sign(&k, b"");
    assert_eq!(verify(&empty, &trusting(&[&k])).unwrap(), b"");
}

#[test]
fn tampered_payload_is_rejected() {
    let k = KeyPair::generate();
    let env = sign(&k, b"edge 1\nedge 2\n");
    let trust = trusting(&[&k]);
    for i in HEADER_LEN..env.len() {
        let mut bad = env.clone();
        bad[i] ^= 0x01;
        let e = verify(&bad, &trust).unwrap_err();
        assert_eq!(e, SignatureError::BadSignature(k.public().to_string()));
        assert!(e.to_string().contains("does not match the payload"), "{e}");
    }
    // A flipped signature byte is caught the same way.
    let mut bad = env.clone();
    bad[50] ^= 0x80;
    assert!(matches!(
        verify(&bad, &trust),
        Err(SignatureError::BadSignature(_))
    ));
}

#[test]
fn key_not_in_trust_set_is_rejected() {
    let publisher = KeyPair::generate();
    let other = KeyPair::generate();
    let env = sign(&other, b"data");
    let e = verify(&env, &trusting(&[&publisher])).unwrap_err();
    assert_eq!(e, SignatureError::UntrustedKey(other.public().to_string()));
    assert_eq!(
        e.to_string(),
        format!(
            "signed by {}, which is not a trusted publisher",
            other.public()
        )
    );
    // An empty trust set accepts nothing.
    assert!(matches!(
        verify(&sign(&publisher, b"x"), &Trust::new()),
        Err(SignatureError::UntrustedKey(_))
    ));
    // Swapping in a trusted key id does not make the other key's signature pass.
    let mut swapped = env.clone();
    swapped[8..40].copy_from_slice(&publisher.public().to_bytes());
    assert!(matches!(
        verify(&swapped, &trusting(&[&publisher])),
        Err(SignatureError::BadSignature(_))
    ));
}

#[test]
fn unsigned_data_is_rejected() {
    let k = KeyPair::generate();
    let trust = trusting(&[&k]);
    for data in [
        &b""[..],
        b"cached-ninja build 1\nend 0\n",
        b"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00",
    ] {
        let e = verify(data, &trust).unwrap_err();
        assert_eq!(e, SignatureError::Unsigned, "{data:?}");
        assert_eq!(
            e.to_string(),
            "data is unsigned: no cached-ninja signature envelope"
        );
    }
}

#[test]
fn truncated_or_malformed_envelopes_are_errors() {
    let k = KeyPair::generate();
    let trust = trusting(&[&k]);
    let env = sign(&k, b"some payload");
    for n in 1..env.len() {
        let e = verify(&env[..n], &trust).unwrap_err();
        assert!(
            matches!(e, SignatureError::Truncated { have, .. } if have == n as u64),
            "{n}: {e}"
        );
        assert!(
            e.to_string().starts_with("signed envelope truncated: "),
            "{e}"
        );
    }
    let mut long = env.clone();
    long.extend_from_slice(b"xx");
    assert_eq!(
        verify(&long, &trust).unwrap_err().to_string(),
        "signed envelope has 2 unexpected bytes after the payload"
    );
    let mut v2 = env.clone();
    v2[7] = 2;
    assert_eq!(
        verify(&v2, &trust).unwrap_err(),
        SignatureError::UnsupportedVersion(2)
    );
    // A length field near u64::MAX must not overflow.
    let mut huge = env.clone();
    huge[104..112].copy_from_slice(&u64::MAX.to_le_bytes());
    assert!(matches!(
        verify(&huge, &trust),
        Err(SignatureError::Truncated { need: u64::MAX, .. })
    ));
    // Garbage after the magic: whatever key bytes, never a panic, never accepted.
    let mut garbage = env.clone();
    for b in &mut garbage[8..HEADER_LEN - 8] {
        *b = 0xff;
    }
    assert!(verify(&garbage, &trust).is_err());
}

#[test]
fn public_key_strings() {
    let k = KeyPair::from_seed(&[1; 32]);
    let s = k.public().to_string();
    assert!(s.starts_with("ed25519:") && s.len() == 8 + 64, "{s}");
    assert_eq!(s.parse::<PublicKey>().unwrap(), k.public());
    let t = Trust::from_strings(&[s.as_str()]).unwrap();
    assert!(t.contains(&k.public()) && t.len() == 1);
    for bad in [
        "",
        "ed25519:",
        "rsa:abcd",
        &s[..s.len() - 1],
        &s.replace('e', "E")[..],
    ] {
        let e = bad.parse::<PublicKey>().unwrap_err();
        assert!(matches!(e, KeyError::InvalidPublicKey { .. }), "{bad}: {e}");
    }
    assert!(Trust::from_strings(&["nope"])
        .unwrap_err()
        .to_string()
        .contains("expected `ed25519:<64 hex digits>`"));
}

#[test]
fn secret_key_file_round_trip_and_permissions() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("publisher.key");
    let k = KeyPair::generate();
    k.write_secret_file(&path).unwrap();
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let back = KeyPair::read_secret_file(&path).unwrap();
    assert_eq!(back.public(), k.public());
    let env = sign(&back, b"x");
    assert_eq!(verify(&env, &trusting(&[&k])).unwrap(), b"x");
    // Only the key file is left behind (the temporary name is removed).
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);

    let e = KeyPair::generate().write_secret_file(&path).unwrap_err();
    assert!(matches!(e, KeyError::Exists(_)));
    assert_eq!(
        e.to_string(),
        format!(
            "key file {} already exists; refusing to overwrite it",
            path.display()
        )
    );
    assert_eq!(
        KeyPair::read_secret_file(&path).unwrap().public(),
        k.public()
    );

    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let e = KeyPair::read_secret_file(&path).err().unwrap();
    assert!(e.to_string().contains("permissions 644"), "{e}");

    let junk = dir.path().join("junk.key");
    std::fs::write(&junk, "not a key\n").unwrap();
    std::fs::set_permissions(&junk, std::fs::Permissions::from_mode(0o600)).unwrap();
    let e = KeyPair::read_secret_file(&junk).err().unwrap();
    assert!(e.to_string().contains("first line is not"), "{e}");
}
