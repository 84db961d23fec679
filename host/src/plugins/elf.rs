//! Looking at a plugin file before the dynamic loader does.
//!
//! `dlopen` trusts the file: a truncated copy of a real library maps
//! segments past the end of the file, and the first touch of such a page
//! kills the whole process with SIGBUS. So the host reads the ELF headers
//! itself first and refuses, with a reason, a file that is empty, not ELF, a
//! library of another machine or word size, not a shared object, or whose
//! segments do not lie inside the file.

use object::elf::{self, FileHeader64};
use object::read::elf::{FileHeader, ProgramHeader};
use object::read::{ReadCache, ReadRef};
use object::Endianness;

/// Why a file would not load safely.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VetError {
    /// Zero bytes.
    #[error("the file is empty")]
    Empty,
    /// Not ELF at all.
    #[error("not an ELF shared library")]
    NotElf,
    /// A 32-bit library, or the wrong byte order.
    #[error("an ELF file for another platform (32-bit or other byte order); this host is {host}")]
    WrongClass { host: &'static str },
    /// Built for another CPU.
    #[error("a shared library for another machine ({machine}); this host is {host}")]
    WrongMachine { machine: String, host: &'static str },
    /// An executable or object file.
    #[error("an ELF file of type {0}, not a shared library")]
    NotShared(String),
    /// Headers or segments point past the end of the file.
    #[error("the file is truncated or corrupt: {0}")]
    Truncated(String),
}

/// The ELF machine this host runs on, if it is one we know.
fn host_machine() -> Option<elf::Machine> {
    match std::env::consts::ARCH {
        "x86_64" => Some(elf::EM_X86_64),
        "aarch64" => Some(elf::EM_AARCH64),
        "riscv64" => Some(elf::EM_RISCV),
        "powerpc64" => Some(elf::EM_PPC64),
        "s390x" => Some(elf::EM_S390),
        "loongarch64" => Some(elf::EM_LOONGARCH),
        _ => None,
    }
}

/// Checks that `data` is a 64-bit ELF shared library for this machine whose
/// headers and loadable segments all lie inside it. `data` may be a byte
/// slice or a lazily read file ([`vet_file`]): only the headers are read.
pub fn vet_elf<'a, R: ReadRef<'a>>(data: R) -> Result<(), VetError> {
    let host = std::env::consts::ARCH;
    let len = data.len().map_err(|_| VetError::NotElf)?;
    if len == 0 {
        return Err(VetError::Empty);
    }
    if data.read_bytes_at(0, 4).ok() != Some(b"\x7fELF".as_slice()) {
        return Err(VetError::NotElf);
    }
    let header = FileHeader64::<Endianness>::parse(data).map_err(|_| VetError::WrongClass { host })?;
    let endian = header.endian().map_err(|_| VetError::WrongClass { host })?;
    if endian != Endianness::default() {
        return Err(VetError::WrongClass { host });
    }
    let machine = header.e_machine(endian);
    if host_machine().is_some_and(|m| m != machine) {
        return Err(VetError::WrongMachine { machine: format!("{machine:?}"), host });
    }
    let kind = header.e_type(endian);
    if kind != elf::ET_DYN {
        return Err(VetError::NotShared(format!("{kind:?}")));
    }
    let truncated = |what: &str| VetError::Truncated(what.to_owned());
    let segments =
        header.program_headers(endian, data).map_err(|_| truncated("the program headers lie outside the file"))?;
    if segments.is_empty() {
        return Err(truncated("it has no program headers"));
    }
    for (i, segment) in segments.iter().enumerate() {
        if segment.p_type(endian) == elf::PT_NULL {
            continue;
        }
        let (offset, size) = (segment.p_offset(endian), segment.p_filesz(endian));
        if offset.checked_add(size).is_none_or(|end| end > len) {
            return Err(VetError::Truncated(format!(
                "segment {i} needs bytes {offset}..{} but the file has {len}",
                offset.saturating_add(size)
            )));
        }
    }
    header.section_headers(endian, data).map_err(|_| truncated("the section headers lie outside the file"))?;
    Ok(())
}

/// [`vet_elf`] on an open file, reading only its headers (a plugin file is
/// megabytes; its headers are a few kilobytes).
pub fn vet_file(file: &std::fs::File) -> Result<(), VetError> {
    let cache = ReadCache::new(file);
    vet_elf(&cache)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn this_test_binary() -> Vec<u8> {
        // Not a shared library, but a real ELF file of this machine.
        std::fs::read(std::env::current_exe().unwrap()).unwrap()
    }

    #[test]
    fn garbage_and_empty_files_are_refused() {
        assert_eq!(vet_elf(&b""[..]), Err(VetError::Empty));
        assert_eq!(vet_elf(&b"#!/bin/sh\necho hi\n"[..]), Err(VetError::NotElf));
        assert_eq!(vet_elf(&b"\x7fELF"[..]), Err(VetError::WrongClass { host: std::env::consts::ARCH }));
    }

    #[test]
    fn truncation_anywhere_is_caught_without_panicking() {
        let data = this_test_binary();
        for cut in [5, 16, 64, 100, 1000, 4096, data.len() / 2, data.len() - 1] {
            assert!(vet_elf(&data[..cut]).is_err(), "cut at {cut} passed");
        }
    }

    #[test]
    fn a_file_is_vetted_from_its_headers_alone() {
        let file = std::fs::File::open(std::env::current_exe().unwrap()).unwrap();
        // The test binary is position-independent (ET_DYN, like a library)
        // and whole.
        assert_eq!(vet_file(&file), Ok(()));
        let dir = tempfile::tempdir().unwrap();
        let data = this_test_binary();
        let cut = dir.path().join("cut.so");
        std::fs::write(&cut, &data[..data.len() / 3]).unwrap();
        assert!(vet_file(&std::fs::File::open(&cut).unwrap()).is_err());
    }

    #[test]
    fn another_machine_is_named() {
        let mut data = this_test_binary();
        // e_machine is the u16 at offset 18 (little-endian on our hosts).
        data[18..20].copy_from_slice(&40u16.to_le_bytes()); // EM_ARM
        let error = vet_elf(&data[..]).unwrap_err();
        assert!(matches!(error, VetError::WrongMachine { .. }), "{error}");
        assert!(error.to_string().contains("ARM"), "{error}");
    }
}
