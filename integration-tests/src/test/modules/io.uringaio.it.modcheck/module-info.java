/** A user of the four library modules on the module path, compiled and run by ModulePathTest. */
module io.uringaio.it.modcheck {
    requires io.uringaio.posix;
    requires io.uringaio.storage;
    requires io.uringaio.nio;
}
