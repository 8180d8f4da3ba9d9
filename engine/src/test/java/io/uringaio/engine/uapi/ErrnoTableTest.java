package io.uringaio.engine.uapi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import org.junit.jupiter.api.Test;

class ErrnoTableTest {

    @Test
    void ebadfHasItsNameAndMessage() {
        assertEquals(9, ErrnoTable.EBADF);
        assertEquals("EBADF", ErrnoTable.name(ErrnoTable.EBADF));
        assertEquals("Bad file descriptor", ErrnoTable.message(ErrnoTable.EBADF));
        assertEquals("EBADF (Bad file descriptor)", ErrnoTable.describe(ErrnoTable.EBADF));
    }

    @Test
    void ecanceledIs125() {
        assertEquals(125, ErrnoTable.ECANCELED);
        assertEquals("ECANCELED", ErrnoTable.name(125));
        assertEquals("Operation canceled", ErrnoTable.message(125));
    }

    @Test
    void aliasesUseTheCanonicalName() {
        assertEquals(11, ErrnoTable.EAGAIN);
        assertEquals("EAGAIN", ErrnoTable.name(11));
        assertEquals("EDEADLK", ErrnoTable.name(35));
        assertEquals(95, ErrnoTable.EOPNOTSUPP);
        assertEquals("EOPNOTSUPP", ErrnoTable.name(95));
        assertEquals("Operation not supported", ErrnoTable.message(95));
    }

    @Test
    void unknownNumbersAreDescribedAsUnknown() {
        assertEquals("errno 999", ErrnoTable.name(999));
        assertEquals("Unknown error 999", ErrnoTable.message(999));
        assertEquals("errno 999 (Unknown error 999)", ErrnoTable.describe(999));
        assertEquals("errno 0", ErrnoTable.name(0));
        assertEquals("errno -9", ErrnoTable.name(-9));
        // Linux leaves 41 and 58 unused.
        assertEquals("errno 41", ErrnoTable.name(41));
        assertEquals("Unknown error 58", ErrnoTable.message(58));
    }

    @Test
    void everyNumberInRangeHasAMessage() {
        for (int errno = 1; errno <= ErrnoTable.MAX_ERRNO; errno++) {
            assertNotNull(ErrnoTable.name(errno));
            assertNotNull(ErrnoTable.message(errno));
        }
        assertEquals("EHWPOISON", ErrnoTable.name(ErrnoTable.MAX_ERRNO));
    }
}
