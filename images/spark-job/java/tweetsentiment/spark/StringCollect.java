package tweetsentiment.spark;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;

import org.apache.spark.TaskContext;
import org.apache.spark.rdd.RDD;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.classic.Dataset;
import org.apache.spark.sql.execution.QueryExecution;
import org.apache.spark.sql.execution.SQLExecution;

import scala.Option;
import scala.collection.Iterator;
import scala.jdk.javaapi.CollectionConverters;
import scala.reflect.ClassTag$;
import scala.runtime.AbstractFunction0;
import scala.runtime.AbstractFunction2;
import scala.runtime.BoxedUnit;

/**
 * Collects a Dataset's first column (a string) to the driver: what {@code Dataset.collect} does
 * for the job's per-batch stats, without Spark's closure cleaning.
 *
 * <p>{@code RDD.collect} hands {@code SparkContext.runJob} Scala lambdas, and Spark 4.0's
 * {@code ClosureCleaner} reads and parses the class file of each lambda's defining class
 * ({@code RDD}, then {@code SparkContext} itself) on every call, looking for {@code return}
 * statements: a quarter of the stream thread's CPU at 50 posts/s (JFR, issue 17). These
 * functions are named classes, not lambdas, so the cleaner has nothing to parse. The job runs
 * inside an SQL execution as {@code collect} does, so the tasks see the session's SQL settings.
 */
public final class StringCollect {
  private StringCollect() {}

  /** Every row's first column, rows joined by a newline (a null or empty column is skipped). */
  public static String collect(Dataset<?> rows) {
    QueryExecution execution = rows.queryExecution();
    return SQLExecution.withNewExecutionId(execution, Option.apply("collect"), new Run(execution));
  }

  private static final class Run extends AbstractFunction0<String> {
    private final QueryExecution execution;

    Run(QueryExecution execution) {
      this.execution = execution;
    }

    @Override
    public String apply() {
      RDD<InternalRow> rdd = execution.executedPlan().execute();
      int partitions = rdd.partitions().length;
      List<Object> ids = new ArrayList<>(partitions);
      for (int i = 0; i < partitions; i++) {
        ids.add(i);
      }
      String[] parts = new String[partitions];
      rdd.sparkContext()
          .runJob(
              rdd,
              new FirstColumn(),
              CollectionConverters.asScala(ids).toSeq(),
              new Store(parts),
              ClassTag$.MODULE$.apply(String.class));
      StringBuilder out = new StringBuilder();
      for (String part : parts) {
        appendLine(out, part);
      }
      return out.toString();
    }
  }

  /** Task side: one partition's first-column strings, joined by a newline. */
  private static final class FirstColumn
      extends AbstractFunction2<TaskContext, Iterator<InternalRow>, String> implements Serializable {
    private static final long serialVersionUID = 1L;

    @Override
    public String apply(TaskContext context, Iterator<InternalRow> rows) {
      StringBuilder out = new StringBuilder();
      while (rows.hasNext()) {
        InternalRow row = rows.next();
        if (!row.isNullAt(0)) {
          appendLine(out, row.getUTF8String(0).toString());
        }
      }
      return out.toString();
    }
  }

  /** Appends a non-empty line, newline-separated from what {@code out} already holds. */
  private static void appendLine(StringBuilder out, String line) {
    if (line == null || line.isEmpty()) {
      return;
    }
    if (out.length() > 0) {
      out.append('\n');
    }
    out.append(line);
  }

  /** Driver side: keeps each partition's result by its index. */
  private static final class Store extends AbstractFunction2<Object, String, BoxedUnit> {
    private final String[] parts;

    Store(String[] parts) {
      this.parts = parts;
    }

    @Override
    public BoxedUnit apply(Object index, String part) {
      parts[(Integer) index] = part;
      return BoxedUnit.UNIT;
    }
  }
}
