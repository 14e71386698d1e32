package verify

import (
	"encoding/binary"
	"fmt"
)

// Bounds on an evidence package's zip, checked from its end records before
// archive/zip parses the central directory (which it reads entry by entry
// from the directory's offset to the end of the file, whatever count the
// end record gives): a zip listing millions of names is refused in
// constant time and memory.
const (
	// MaxPackageEntries is the most entries a package's zip may list: a
	// package holds at most 17 files at fixed names (package.go), and a
	// zip made with zip(1) adds an entry for each of its 3 directories.
	MaxPackageEntries = 64
	// maxCentralHeader bounds one entry of the central directory: its 46
	// fixed bytes, a name of at most 255 bytes (checkPackageName), and
	// extra fields and comment, which zip(1) keeps under a hundred bytes.
	maxCentralHeader = 46 + 255 + 1024
	// MaxPackageSize bounds the total size of a package's files, read
	// from a zip that may be compressed (a re-zipped package): a snapshot
	// of at most 1 GiB (what exhibit export puts in a package) and small
	// files beside it.
	MaxPackageSize = 1<<30 + 64<<20
)

// Zip record signatures and sizes (PKWARE APPNOTE.TXT 4.3.12 to 4.3.16).
const (
	zipCentralHeaderSig = 0x02014b50
	zipEndSig           = 0x06054b50
	zipEndLen           = 22
	zip64LocatorSig     = 0x07064b50
	zip64LocatorLen     = 20
	zip64EndSig         = 0x06064b50
	zip64EndLen         = 56
)

// checkZipDirectory reads a zip's end of central directory record (and its
// zip64 record, when the 32-bit fields are saturated), finding them as
// archive/zip does, and refuses a zip whose central directory lists more
// than MaxPackageEntries entries, is larger than that many entries can be,
// is smaller than its count of entries can be, or does not end where the
// end records begin (archive/zip would then read headers from beyond it).
// A zip without an end record is left to archive/zip to refuse.
func checkZipDirectory(data []byte) error {
	size := int64(len(data))
	end := int64(-1)
	for i := size - zipEndLen; i >= 0 && i >= size-65*1024; i-- {
		if binary.LittleEndian.Uint32(data[i:]) == zipEndSig {
			if n := int64(binary.LittleEndian.Uint16(data[i+20:])); i+zipEndLen+n <= size {
				end = i
			}
			break
		}
	}
	if end < 0 {
		return nil
	}
	records := uint64(binary.LittleEndian.Uint16(data[end+10:]))
	dirSize := uint64(binary.LittleEndian.Uint32(data[end+12:]))
	dirOffset := uint64(binary.LittleEndian.Uint32(data[end+16:]))
	dirEnd := end // where the central directory must end
	if records == 0xffff || dirSize == 0xffff || dirOffset == 0xffffffff {
		if loc := end - zip64LocatorLen; loc >= 0 && binary.LittleEndian.Uint32(data[loc:]) == zip64LocatorSig &&
			binary.LittleEndian.Uint32(data[loc+4:]) == 0 && binary.LittleEndian.Uint32(data[loc+16:]) == 1 {
			p := binary.LittleEndian.Uint64(data[loc+8:])
			if p > uint64(loc) || uint64(loc)-p < zip64EndLen || binary.LittleEndian.Uint32(data[p:]) != zip64EndSig {
				return fmt.Errorf("%w: the zip64 end of central directory record is not where its locator says (offset %d)", ErrPackage, p)
			}
			records = binary.LittleEndian.Uint64(data[p+32:])
			dirSize = binary.LittleEndian.Uint64(data[p+40:])
			dirOffset = binary.LittleEndian.Uint64(data[p+48:])
			dirEnd = int64(p)
		}
	}
	switch {
	case records > MaxPackageEntries:
		return fmt.Errorf("%w: the zip's central directory lists %d entries, more than the %d an evidence package can have", ErrPackage, records, MaxPackageEntries)
	case dirSize > MaxPackageEntries*maxCentralHeader:
		return fmt.Errorf("%w: the zip's central directory is %d bytes, more than %d entries of an evidence package can take", ErrPackage, dirSize, MaxPackageEntries)
	case dirSize < records*46:
		return fmt.Errorf("%w: the zip's central directory is %d bytes, too small for the %d entries it lists", ErrPackage, dirSize, records)
	case dirOffset > uint64(dirEnd) || dirOffset+dirSize != uint64(dirEnd):
		return fmt.Errorf("%w: the zip's central directory (%d bytes at offset %d) does not end where its end record begins (offset %d)", ErrPackage, dirSize, dirOffset, dirEnd)
	case records > 0 && binary.LittleEndian.Uint32(data[dirOffset:]) != zipCentralHeaderSig:
		return fmt.Errorf("%w: no central directory header at offset %d", ErrPackage, dirOffset)
	}
	return nil
}
