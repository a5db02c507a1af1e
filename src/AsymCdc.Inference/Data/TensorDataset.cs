using System.Runtime.InteropServices;
using System.Text.Json;

namespace AsymCdc.Inference.Data;

/// <summary>
/// A labelled split stored as three files (models/data/README.md), for any input shape: a JSON header
/// <c>{split}.json</c> naming the other two, the items as float32 little-endian (<c>count × prod(shape)</c>, item after
/// item, already scaled as the model takes them) and the labels as one byte each. The digits split of
/// <c>models/train-user-models.sh</c> ships in it, and <c>asymcdc train-decoders --data PATH</c> reads a user's data in it.
/// </summary>
/// <example>
/// <code>
/// {"format": "asymcdc-tensor-dataset/1", "split": "test", "count": 450, "shape": [1, 8, 8], "classes": 10,
///  "images": "test-images.f32", "labels": "test-labels.u8", "source": "scikit-learn load_digits ..."}
/// </code>
/// </example>
public static class TensorDataset
{
    public const string Format = "asymcdc-tensor-dataset/1";

    /// <summary>Loads the split whose header is <paramref name="headerPath"/>; the two data files are named relative to it.
    /// Throws <see cref="FileNotFoundException"/> or <see cref="InvalidDataException"/> naming the file and the problem.</summary>
    public static LabeledSet Load(string headerPath)
    {
        ArgumentNullException.ThrowIfNull(headerPath);
        if (!File.Exists(headerPath))
        {
            throw new FileNotFoundException($"Tensor dataset header '{headerPath}' does not exist.", headerPath);
        }

        Header header;
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllText(headerPath));
            header = Header.Read(document.RootElement, headerPath);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"'{headerPath}' is not valid JSON: {e.Message}", e);
        }

        var directory = Path.GetDirectoryName(Path.GetFullPath(headerPath))!;
        var imagesPath = Path.Combine(directory, header.Images);
        var labelsPath = Path.Combine(directory, header.Labels);
        foreach (var path in new[] { imagesPath, labelsPath })
        {
            if (!File.Exists(path))
            {
                throw new FileNotFoundException($"'{headerPath}' names '{Path.GetFileName(path)}', which does not exist next to it ('{path}').", path);
            }
        }

        long itemLength = 1;
        foreach (var d in header.Shape)
        {
            itemLength *= d;
        }

        var imageBytes = File.ReadAllBytes(imagesPath);
        if (imageBytes.LongLength != header.Count * itemLength * sizeof(float))
        {
            throw new InvalidDataException(
                $"'{imagesPath}' holds {imageBytes.LongLength} bytes, but '{headerPath}' declares {header.Count} items of shape [{string.Join(',', header.Shape)}] = {header.Count * itemLength * sizeof(float)} bytes of float32.");
        }

        var labels = File.ReadAllBytes(labelsPath);
        if (labels.LongLength != header.Count)
        {
            throw new InvalidDataException($"'{labelsPath}' holds {labels.LongLength} labels, but '{headerPath}' declares {header.Count}.");
        }

        for (var i = 0; i < labels.Length; i++)
        {
            if (labels[i] >= header.Classes)
            {
                throw new InvalidDataException($"'{labelsPath}' holds label {labels[i]} at item {i}; '{headerPath}' declares {header.Classes} classes (labels 0..{header.Classes - 1}).");
            }
        }

        var items = new float[header.Count * itemLength];
        MemoryMarshal.Cast<byte, float>(imageBytes).CopyTo(items);
        if (!BitConverter.IsLittleEndian)
        {
            var raw = MemoryMarshal.Cast<float, int>(items.AsSpan());
            for (var i = 0; i < raw.Length; i++)
            {
                raw[i] = System.Buffers.Binary.BinaryPrimitives.ReverseEndianness(raw[i]);
            }
        }

        var name = $"{Path.GetFileName(directory)}/{header.Split}";
        return new LabeledSet(name, items, labels, header.Shape, header.Classes, header.Source);
    }

    /// <summary>Writes <paramref name="set"/> as <c>{split}.json</c>, <c>{split}-images.f32</c>, <c>{split}-labels.u8</c>
    /// into <paramref name="directory"/>; returns the header's path.</summary>
    public static string Write(string directory, string split, LabeledSet set)
    {
        ArgumentNullException.ThrowIfNull(set);
        Directory.CreateDirectory(directory);
        var images = $"{split}-images.f32";
        var labels = $"{split}-labels.u8";
        using (var file = File.Create(Path.Combine(directory, images)))
        {
            if (!BitConverter.IsLittleEndian)
            {
                throw new PlatformNotSupportedException("Writing a tensor dataset needs a little-endian machine.");
            }

            file.Write(MemoryMarshal.AsBytes(set.Items.AsSpan()));
        }

        File.WriteAllBytes(Path.Combine(directory, labels), set.Labels);
        var headerPath = Path.Combine(directory, $"{split}.json");
        using (var stream = File.Create(headerPath))
        using (var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartObject();
            json.WriteString("format", Format);
            json.WriteString("split", split);
            json.WriteNumber("count", set.Count);
            json.WriteStartArray("shape");
            foreach (var d in set.ItemShape)
            {
                json.WriteNumberValue(d);
            }

            json.WriteEndArray();
            json.WriteNumber("classes", set.Classes);
            json.WriteString("images", images);
            json.WriteString("labels", labels);
            json.WriteString("source", set.Source);
            json.WriteEndObject();
        }

        return headerPath;
    }

    private sealed record Header(string Split, long Count, int[] Shape, int Classes, string Images, string Labels, string Source)
    {
        public static Header Read(JsonElement root, string path)
        {
            var problems = new List<string>();
            var format = String(root, "format");
            if (format != Format)
            {
                problems.Add($"format is '{format}', expected '{Format}'");
            }

            var count = root.TryGetProperty("count", out var c) && c.ValueKind == JsonValueKind.Number && c.TryGetInt64(out var n) ? n : -1;
            if (count < 0)
            {
                problems.Add("count is missing or negative");
            }

            var shape = new List<int>();
            if (root.TryGetProperty("shape", out var s) && s.ValueKind == JsonValueKind.Array)
            {
                foreach (var d in s.EnumerateArray())
                {
                    shape.Add(d.ValueKind == JsonValueKind.Number && d.TryGetInt32(out var v) ? v : 0);
                }
            }

            if (shape.Count == 0 || shape.Any(d => d < 1))
            {
                problems.Add($"shape [{string.Join(',', shape)}] must list one item's axes (no batch axis), each at least 1");
            }

            var classes = root.TryGetProperty("classes", out var k) && k.ValueKind == JsonValueKind.Number && k.TryGetInt32(out var kv) ? kv : 0;
            if (classes is < 2 or > 256)
            {
                problems.Add($"classes is {classes}; it must be 2..256 (labels are one byte)");
            }

            var images = String(root, "images");
            var labels = String(root, "labels");
            if (string.IsNullOrWhiteSpace(images) || string.IsNullOrWhiteSpace(labels))
            {
                problems.Add("'images' and 'labels' must name the two data files");
            }

            if (problems.Count > 0)
            {
                throw new InvalidDataException($"Tensor dataset header '{path}' is invalid: {string.Join("; ", problems)}.");
            }

            return new Header(String(root, "split") ?? Path.GetFileNameWithoutExtension(path), count, [.. shape], classes, images!, labels!,
                String(root, "source") ?? path);
        }

        private static string? String(JsonElement root, string name) =>
            root.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
    }
}
