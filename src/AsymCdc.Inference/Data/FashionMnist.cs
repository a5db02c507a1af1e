using System.Buffers.Binary;
using System.IO.Compression;

namespace AsymCdc.Inference.Data;

/// <summary>The Fashion-MNIST test set: <see cref="Count"/> images of 28×28 float pixels in [0, 1],
/// back to back in <see cref="Images"/>, and their class labels 0..9.</summary>
public sealed class FashionMnistSet
{
    internal FashionMnistSet(float[] images, byte[] labels, string directory)
    {
        Images = images;
        Labels = labels;
        Directory = directory;
    }

    /// <summary>Pixels per image (1×28×28), the classifier's input length.</summary>
    public const int ImageLength = FashionMnist.Rows * FashionMnist.Columns;

    /// <summary>Count × 784 pixels in [0, 1], image after image.</summary>
    public float[] Images { get; }

    /// <summary>Count labels, 0..9.</summary>
    public byte[] Labels { get; }

    /// <summary>Number of images.</summary>
    public int Count => Labels.Length;

    /// <summary>Where the files were read from.</summary>
    public string Directory { get; }

    /// <summary>The pixels of image <paramref name="index"/>.</summary>
    public ReadOnlyMemory<float> Image(int index) => Images.AsMemory(index * ImageLength, ImageLength);

    /// <summary><paramref name="count"/> images from <paramref name="start"/>, back to back.</summary>
    public ReadOnlyMemory<float> Slice(int start, int count) => Images.AsMemory(start * ImageLength, count * ImageLength);
}

/// <summary>
/// Reads the Fashion-MNIST test set from its IDX files (gzip), as shipped in <c>models/data</c> and by
/// Debian's <c>dataset-fashion-mnist</c>.
/// </summary>
public static class FashionMnist
{
    public const string ImagesFile = "t10k-images-idx3-ubyte.gz";
    public const string LabelsFile = "t10k-labels-idx1-ubyte.gz";
    public const string TrainingImagesFile = "train-images-idx3-ubyte.gz";
    public const string TrainingLabelsFile = "train-labels-idx1-ubyte.gz";
    public const string SystemDirectory = "/usr/share/datasets/fashion-mnist";
    internal const int Rows = 28;
    internal const int Columns = 28;

    // IDX magic numbers: 0x0000 08 (unsigned byte) then the number of dimensions.
    private const int ImagesMagic = 0x00000803;
    private const int LabelsMagic = 0x00000801;

    /// <summary>
    /// Loads the test set from <paramref name="directory"/>, or when null from the nearest
    /// <c>models/data</c> (walking up from the current and the application directory), then
    /// <see cref="SystemDirectory"/>. Throws <see cref="FileNotFoundException"/> naming every path tried.
    /// </summary>
    public static FashionMnistSet LoadTestSet(string? directory = null) =>
        Load(directory ?? FindDirectory(), ImagesFile, LabelsFile, "test set", "");

    /// <summary>
    /// Loads the 60,000 training images from <paramref name="directory"/> (default: Debian's <see cref="SystemDirectory"/>;
    /// the repository ships only the test set). Throws <see cref="FileNotFoundException"/> saying what to install.
    /// </summary>
    public static FashionMnistSet LoadTrainingSet(string? directory = null) =>
        Load(directory ?? SystemDirectory, TrainingImagesFile, TrainingLabelsFile, "training set", " Install Debian's dataset-fashion-mnist.");

    /// <summary>One split: its IDX image and label files in <paramref name="dir"/>, checked against each other.</summary>
    private static FashionMnistSet Load(string dir, string imagesFile, string labelsFile, string split, string hint)
    {
        var imagesPath = Path.Combine(dir, imagesFile);
        var labelsPath = Path.Combine(dir, labelsFile);
        if (!File.Exists(imagesPath) || !File.Exists(labelsPath))
        {
            throw new FileNotFoundException(
                $"Fashion-MNIST {split} not found: expected '{imagesPath}' and '{labelsPath}'.{hint}", imagesPath);
        }

        var images = ReadImages(imagesPath);
        var labels = ReadLabels(labelsPath);
        if (images.Length != labels.Length * FashionMnistSet.ImageLength)
        {
            throw new InvalidDataException(
                $"Fashion-MNIST files in '{dir}' disagree: {images.Length / FashionMnistSet.ImageLength} images but {labels.Length} labels.");
        }

        return new FashionMnistSet(images, labels, dir);
    }

    /// <summary>The directory <see cref="LoadTestSet"/> reads when given none.</summary>
    public static string FindDirectory()
    {
        var tried = new List<string>();
        var found = ModelRepositoryLocator.Search(HasTestSet, Path.Combine(ModelRepositoryLocator.FolderName, "data"), tried);
        if (found is not null)
        {
            return found;
        }

        tried.Add(SystemDirectory);
        if (HasTestSet(SystemDirectory))
        {
            return SystemDirectory;
        }

        throw new FileNotFoundException(
            $"Fashion-MNIST test set ({ImagesFile}, {LabelsFile}) not found in any of: "
            + string.Join(", ", tried)
            + ". Pass the directory explicitly or install Debian's dataset-fashion-mnist.");
    }

    private static bool HasTestSet(string dir) =>
        File.Exists(Path.Combine(dir, ImagesFile)) && File.Exists(Path.Combine(dir, LabelsFile));

    private static float[] ReadImages(string path)
    {
        var bytes = ReadGzip(path);
        var header = ReadHeader(bytes, path, ImagesMagic, headerInts: 4);
        int count = header[0], rows = header[1], columns = header[2];
        if (rows != Rows || columns != Columns)
        {
            throw new InvalidDataException($"'{path}' holds {rows}×{columns} images; expected {Rows}×{Columns}.");
        }

        var pixels = bytes.AsSpan(16);
        long expected = (long)count * rows * columns;
        if (pixels.Length != expected)
        {
            throw new InvalidDataException($"'{path}' is truncated: header says {expected} pixels, file has {pixels.Length}.");
        }

        var images = new float[expected];
        for (var i = 0; i < images.Length; i++)
        {
            images[i] = pixels[i] / 255f;
        }

        return images;
    }

    private static byte[] ReadLabels(string path)
    {
        var bytes = ReadGzip(path);
        var header = ReadHeader(bytes, path, LabelsMagic, headerInts: 2);
        var labels = bytes.AsSpan(8);
        if (labels.Length != header[0])
        {
            throw new InvalidDataException($"'{path}' is truncated: header says {header[0]} labels, file has {labels.Length}.");
        }

        foreach (var label in labels)
        {
            if (label > 9)
            {
                throw new InvalidDataException($"'{path}' holds label {label}; Fashion-MNIST labels are 0..9.");
            }
        }

        return labels.ToArray();
    }

    /// <summary>Checks the magic number and returns the dimension sizes that follow it.</summary>
    private static int[] ReadHeader(byte[] bytes, string path, int magic, int headerInts)
    {
        if (bytes.Length < headerInts * 4)
        {
            throw new InvalidDataException($"'{path}' is too short to be an IDX file ({bytes.Length} bytes).");
        }

        var actual = BinaryPrimitives.ReadInt32BigEndian(bytes);
        if (actual != magic)
        {
            throw new InvalidDataException($"'{path}' has IDX magic 0x{actual:X8}; expected 0x{magic:X8}.");
        }

        var dims = new int[headerInts - 1];
        for (var i = 0; i < dims.Length; i++)
        {
            dims[i] = BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(4 + (4 * i)));
        }

        return dims;
    }

    private static byte[] ReadGzip(string path)
    {
        using var file = File.OpenRead(path);
        using var gzip = new GZipStream(file, CompressionMode.Decompress);
        using var buffer = new MemoryStream();
        gzip.CopyTo(buffer);
        return buffer.ToArray();
    }
}
