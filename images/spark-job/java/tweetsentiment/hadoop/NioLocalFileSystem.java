// Hadoop's local filesystem (checksums and all), but setting a file's permissions through
// java.nio instead of forking `chmod`: without libhadoop.so (neither pyspark's wheel nor the
// Spark image has it) RawLocalFileSystem runs `chmod` for every file it creates, and the
// streaming checkpoint creates two files and their .crc files every micro-batch: four
// processes forked by the JVM per batch, about a tenth of the job's CPU at 50 posts/s (issue 17).
// The job sets it as spark.hadoop.fs.file.impl (sentiment_job.job.spark_configs).
package tweetsentiment.hadoop;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.attribute.PosixFilePermission;
import java.util.EnumSet;
import java.util.Set;
import org.apache.hadoop.fs.LocalFileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.RawLocalFileSystem;
import org.apache.hadoop.fs.permission.FsPermission;

public class NioLocalFileSystem extends LocalFileSystem {
  public NioLocalFileSystem() {
    super(new Raw());
  }

  /** The raw filesystem under the checksums: only setPermission differs. */
  public static class Raw extends RawLocalFileSystem {
    // Bit 8 (owner read) down to bit 0 (others execute), in PosixFilePermission's order.
    private static final PosixFilePermission[] BITS = {
      PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE, PosixFilePermission.OWNER_EXECUTE,
      PosixFilePermission.GROUP_READ, PosixFilePermission.GROUP_WRITE, PosixFilePermission.GROUP_EXECUTE,
      PosixFilePermission.OTHERS_READ, PosixFilePermission.OTHERS_WRITE, PosixFilePermission.OTHERS_EXECUTE,
    };

    @Override
    public void setPermission(Path p, FsPermission permission) throws IOException {
      short mode = permission.toShort();
      if ((mode & ~0777) != 0) {
        // The sticky bit (or setuid/setgid) has no java.nio form: let chmod set it.
        super.setPermission(p, permission);
        return;
      }
      Set<PosixFilePermission> perms = EnumSet.noneOf(PosixFilePermission.class);
      for (int i = 0; i < BITS.length; i++) {
        if ((mode & (0400 >> i)) != 0) {
          perms.add(BITS[i]);
        }
      }
      Files.setPosixFilePermissions(pathToFile(p).toPath(), perms);
    }
  }
}
