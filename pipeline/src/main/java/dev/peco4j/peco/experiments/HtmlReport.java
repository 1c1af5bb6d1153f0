package dev.peco4j.peco.experiments;

import dev.peco4j.nn.io.AtomicFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.List;

/**
 * A one-page, self-contained HTML report: headings, paragraphs, tables and PNG figures embedded as
 * data URIs (the page can be mailed or opened offline). Text is escaped.
 *
 * <pre>{@code
 * HtmlReport r = new HtmlReport("peco demo");
 * r.heading("Results").table(List.of("run", "accuracy"), rows).figure(plot, "the fine-tuning curves");
 * r.write(out.resolve("report.html"));
 * }</pre>
 */
public final class HtmlReport {
    private final StringBuilder body = new StringBuilder();
    private final String title;

    public HtmlReport(String title) {
        this.title = title;
    }

    public static String escape(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }

    public HtmlReport heading(String text) {
        body.append("<h2>").append(escape(text)).append("</h2>\n");
        return this;
    }

    public HtmlReport paragraph(String text) {
        body.append("<p>").append(escape(text)).append("</p>\n");
        return this;
    }

    /** A preformatted block (commands). */
    public HtmlReport code(String text) {
        body.append("<pre>").append(escape(text)).append("</pre>\n");
        return this;
    }

    public HtmlReport table(List<String> header, List<List<String>> rows) {
        body.append("<table>\n<tr>");
        for (String h : header) body.append("<th>").append(escape(h)).append("</th>");
        body.append("</tr>\n");
        for (List<String> r : rows) {
            body.append("<tr>");
            for (String c : r) body.append("<td>").append(escape(c)).append("</td>");
            body.append("</tr>\n");
        }
        body.append("</table>\n");
        return this;
    }

    /** A PNG, embedded; a missing file is noted in the page rather than failing the report. */
    public HtmlReport figure(Path png, String caption) throws IOException {
        if (!Files.exists(png)) {
            body.append("<p class=\"missing\">(").append(escape(png.toString())).append(" was not written)</p>\n");
            return this;
        }
        body.append("<figure><img src=\"data:image/png;base64,").append(Base64.getEncoder().encodeToString(Files.readAllBytes(png)))
                .append("\" alt=\"").append(escape(caption)).append("\"><figcaption>").append(escape(caption)).append("</figcaption></figure>\n");
        return this;
    }

    public String html() {
        return "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>" + escape(title) + "</title>\n<style>"
                + "body{font-family:sans-serif;max-width:1320px;margin:2em auto;padding:0 1em;color:#222}"
                + "table{border-collapse:collapse;margin:1em 0}th,td{border:1px solid #bbb;padding:4px 10px;text-align:left}th{background:#eee}"
                + "figure{margin:1em 0}img{max-width:100%;border:1px solid #ddd}figcaption{color:#555;font-size:90%}pre{background:#f6f6f6;padding:8px;overflow-x:auto}"
                + "</style></head>\n<body>\n<h1>" + escape(title) + "</h1>\n" + body + "</body></html>\n";
    }

    public void write(Path file) throws IOException {
        AtomicFiles.writeString(file, html());
    }
}
