# Regenerates the NumPy-written fixtures of tst_data (run with Debian's /usr/bin/python3 + numpy).
import io
import zipfile

import numpy as np

a = (np.arange(6, dtype='<f4').reshape(2, 3) * 0.5 - 1)
np.save('np_float32_v1.npy', a)
with open('np_int16_v2.npy', 'wb') as f:
    np.lib.format.write_array(f, np.array([-3, -2, 0, 7, 300], dtype='<i2'), version=(2, 0))
with open('np_uint8_v3.npy', 'wb') as f:
    np.lib.format.write_array(f, np.arange(8, dtype='u1').reshape(2, 2, 2) * 30, version=(3, 0))
np.save('np_bool.npy', np.array([True, False, True]))
np.save('np_int64_scalar.npy', np.array(-42, dtype='<i8'))
np.save('fortran.npy', np.asfortranarray(a))
np.save('big_endian.npy', np.arange(4, dtype='>i4'))
np.save('object.npy', np.array([1, 'a'], dtype=object), allow_pickle=True)


def npy_bytes(x):
    b = io.BytesIO()
    np.save(b, x)
    return b.getvalue()


with zipfile.ZipFile('mixed.npz', 'w') as z:
    z.writestr(zipfile.ZipInfo('stored.npy'), npy_bytes(np.arange(5, dtype='<i4')), compress_type=zipfile.ZIP_STORED)
    z.writestr(zipfile.ZipInfo('deflated.npy'), npy_bytes(np.zeros((16, 16), dtype='<f8') + 1.5),
               compress_type=zipfile.ZIP_DEFLATED)
np.savez_compressed('savez_compressed.npz', x=a, y=np.array([3, 1, 2], dtype=np.int64))
