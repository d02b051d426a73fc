import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.*;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.annotation.*;
import org.apache.flink.shaded.netty4.io.netty.handler.codec.http.QueryStringDecoder;
import java.util.*;
public class T {
  public static class B {
    @JsonProperty("parallelism") public Integer parallelism;
    @JsonProperty("allowNonRestoredState") public Boolean anrs;
    @JsonProperty("savepointPath") public String sp;
  }
  static byte[] cat(Object... parts){ java.io.ByteArrayOutputStream o=new java.io.ByteArrayOutputStream(); for(Object p:parts){ byte[] b = p instanceof String ? ((String)p).getBytes() : (byte[])p; o.write(b,0,b.length);} return o.toByteArray(); }
  public static void main(String[] a) throws Exception {
    System.out.println(new QueryStringDecoder("/jars/x/run?a=;parallelism=1000&b=c").parameters());
    ObjectMapper m = new ObjectMapper(); m.disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);
    String[] tests = {"{\"parallelism\":\"\"}", "{\"allowNonRestoredState\":\"TRUE\"}", "{\"allowNonRestoredState\":\"True\"}", "{\"allowNonRestoredState\":1}", "{\"allowNonRestoredState\":\"\"}", "{\"parallelism\":true}"};
    for (String t: tests) { try { B b = m.readValue(new java.io.ByteArrayInputStream(t.getBytes()), B.class); System.out.println(t+" -> par="+b.parallelism+" anrs="+b.anrs);} catch(Exception e){System.out.println(t+" -> "+e.getClass().getSimpleName()+": "+e.getMessage().split("\n")[0]);} }
    byte[] ov = {(byte)0xC0,(byte)0xAE};
    byte[] body = cat("{\"savepointPath\":\"file:///sp/team-a/", ov, ov, "/team-b\"}");
    B b = m.readValue(new java.io.ByteArrayInputStream(body), B.class); System.out.println("overlong value -> "+b.sp);
    byte[] body2 = cat("{\"savepointP", new byte[]{(byte)0xC1,(byte)0xA1}, "th\":\"file:///x/\"}");
    b = m.readValue(new java.io.ByteArrayInputStream(body2), B.class); System.out.println("overlong key -> "+b.sp);

  }
}
