import org.apache.flink.shaded.netty4.io.netty.handler.codec.http.*;
import org.apache.flink.shaded.netty4.io.netty.handler.codec.http.multipart.*;
import org.apache.flink.shaded.netty4.io.netty.buffer.Unpooled;
import java.nio.file.*;
public class M {
  public static void main(String[] a) throws Exception {
    String ct = a[0]; byte[] body = Files.readAllBytes(Paths.get(a[1]));
    DefaultHttpRequest req = new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.POST, "/jars/upload");
    req.headers().set("Content-Type", ct);
    req.headers().set("Content-Length", body.length);
    try {
      HttpPostRequestDecoder d = new HttpPostRequestDecoder(new DefaultHttpDataFactory(false), req);
      d.offer(new DefaultLastHttpContent(Unpooled.wrappedBuffer(body)));
      while (true) { boolean h; try { h = d.hasNext(); } catch (HttpPostRequestDecoder.EndOfDataDecoderException e) { break; }
        if (!h) break; InterfaceHttpData x = d.next();
        if (x instanceof FileUpload) { FileUpload f=(FileUpload)x; System.out.println("FILE name="+f.getName()+" filename="+f.getFilename()+" content="+f.getString().replace("\r","\\r").replace("\n","\\n")); }
        else System.out.println(x.getHttpDataType()+" "+x.getName()+"="+((Attribute)x).getValue().replace("\r","\\r").replace("\n","\\n"));
      }
    } catch (Exception e) { System.out.println("ERR "+e); }
  }
}
